"""`python -m bot` is the `hoagiai` command."""

from bot.cli import main

raise SystemExit(main())
