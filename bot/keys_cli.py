"""`hoagiai keys generate|rotate|status`: the keys that seal confidential reporters' identities.

Changing keys: `generate` a new one, put it first in HOAGIAI_IDENTITY_KEYS on every worker (the
old ones after it) and restart, `rotate` to re-seal every identity with it, then drop an old key
once `status` shows no identity under it. Keys are printed only by `generate`, never logged.
Storage is imported inside the functions, as in bot/cli.py, so that `hoagiai --help` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from storage.identity_vault import IdentityVault

BATCH_SIZE = 500


class KeysRefused(Exception):
    """Cannot go on; the message says why in one line."""


def add_keys_parser(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser(
        "keys", help="the keys that seal confidential reporters' identities: generate, rotate, status",
        description="Identities of confidential reporters are stored encrypted with the keys of "
                    "HOAGIAI_IDENTITY_KEYS (comma-separated, the first seals, all open) or, when it is unset, "
                    "of the key file HOAGIAI_IDENTITY_KEY_FILE. To change keys: generate one, put it first in "
                    "HOAGIAI_IDENTITY_KEYS on every worker and restart them, rotate, then drop the old key once "
                    "status shows no identity under it.")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    actions.add_parser("generate", help="print a new key and how to put it in use (needs no database)")
    rotate = actions.add_parser(
        "rotate", help="re-seal every identity with the first (current) key",
        description="Re-encrypt every sealed identity that another configured key sealed with the first key, "
                    "a batch per transaction. A row no configured key opens stops the command before its batch "
                    "is written, naming the row (exit code 2).")
    rotate.add_argument("--batch-size", type=int, default=BATCH_SIZE, metavar="N",
                        help=f"rows per transaction (default {BATCH_SIZE})")
    actions.add_parser("status", help="how many identities each key sealed, and which keys are configured")


async def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    if args.keys_command == "generate":
        return _generate()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from storage.identity_vault import IdentityKeysError
    from storage.migrate import DatabaseNotMigrated, require_up_to_date

    try:
        await require_up_to_date(settings.database_url)
        if args.keys_command == "status":
            return await _status(settings)
        if args.batch_size < 1:
            raise KeysRefused(f"--batch-size must be 1 or more, not {args.batch_size}")
        return await _rotate(settings, args.batch_size)
    except (KeysRefused, DatabaseNotMigrated, IdentityKeysError) as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2


def _generate() -> int:
    from storage.identity_vault import KEYS_VARIABLE, key_hint, new_key

    key = new_key()
    print(key)
    print(f"\nKey hint {key_hint(key)}. Keep it secret and backed up: identities sealed with it cannot be "
          f"opened without it.\nTo seal with it, put it first in {KEYS_VARIABLE} on every worker, the keys "
          f"in use after it:\n  {KEYS_VARIABLE}={key},<the keys in use>\nthen restart the workers, run "
          f"`hoagiai keys rotate`, and drop an old key once `hoagiai keys status` shows no identity under it.")
    return 0


def _vault(settings: Settings) -> IdentityVault:
    """The configured keys; never creates a key file (only the bot does, on its first start)."""
    from bot.bootstrap import identity_vault

    return identity_vault(settings, create=False)


async def _status(settings: Settings) -> int:
    from storage.identity_vault import NoKeys

    try:
        vault: IdentityVault | None = _vault(settings)
    except NoKeys as error:
        vault = None
        print(error)
    counts = await _hint_counts(settings.database_url)
    hints = vault.hints if vault is not None else ()
    if vault is not None:
        print(f"keys from {vault.source} (the first seals new identities):")
        for hint in hints:
            print(f"  {hint}  {_role(hint, hints)}")
    if not counts:
        print("sealed identities: none")
        return 0
    print("sealed identities by key:")
    width = len(str(max(counts.values())))
    for hint, count in sorted(counts.items(), key=lambda item: (_rank(item[0], hints), item[0])):
        print(f"  {hint}  {count:>{width}}  {_role(hint, hints)}")
    return 0


def _rank(hint: str, hints: tuple[str, ...]) -> int:
    return hints.index(hint) if hint in hints else len(hints)


def _role(hint: str, hints: tuple[str, ...]) -> str:
    if hint not in hints:
        return "not configured: no key opens these"
    position = hints.index(hint) + 1
    return f"key {position}, current" if position == 1 else f"key {position}"


async def _hint_counts(url: str) -> dict[str, int]:
    from storage.engine import create_engine
    from storage.identity_vault import hint_counts
    from storage.uow import make_uow_factory

    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            return await hint_counts(uow.session)
    finally:
        await engine.dispose()


async def _rotate(settings: Settings, batch_size: int) -> int:
    """Batch by batch, each its own transaction, in id order; stops at the first batch with a
    row no key opens, before writing it (the batches before it stay rotated)."""
    from sqlalchemy import func, select

    from storage.engine import create_engine
    from storage.identity_vault import rotate_batch
    from storage.tables import SealedIdentityRow
    from storage.uow import make_uow_factory

    vault = _vault(settings)
    current = vault.current_hint
    engine = create_engine(settings.database_url)
    rotated, after_id = 0, 0
    try:
        uow_factory = make_uow_factory(engine, vault)
        async with uow_factory() as uow:
            already = (await uow.session.execute(
                select(func.count()).where(SealedIdentityRow.key_hint == current))).scalar_one()
        while True:
            async with uow_factory() as uow:
                batch = await rotate_batch(uow.session, vault, after_id, batch_size, datetime.now(timezone.utc))
                if batch.broken:
                    print(f"rotated {rotated} sealed identities to key {current} before stopping")
                    raise KeysRefused(_broken_message(batch.broken, batch.broken_hints, vault.source))
                if batch.last_id is None:
                    break
                await uow.commit()
            rotated += batch.rotated
            after_id = batch.last_id
    finally:
        await engine.dispose()
    print(f"rotated {rotated} sealed identities to key {current}; {already} already used it")
    return 0


def _broken_message(ids: tuple[int, ...], hints: tuple[str, ...], source: str) -> str:
    rows = ", ".join(str(row_id) for row_id in ids)
    return (f"no configured key opens sealed identit{'y' if len(ids) == 1 else 'ies'} {rows} (sealed with key "
            f"{', '.join(hints)}); nothing of their batch was written. Add the key that sealed "
            f"{'it' if len(ids) == 1 else 'them'} to {source} after the current one and run `hoagiai keys rotate` again")
