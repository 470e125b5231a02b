"""The monthly-update calendar job: leaders' reminders and the police's missing list.

Code-defined (DESIGN: calendar jobs), run every few minutes: each run does what is due at that
moment in one transaction, and the outbox's dedupe keys make a repeated run, or the same run on
another worker, send nothing twice (handlers/monthly_reminders.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from handlers import monthly_reminders
from handlers.ports import Clock, Translator, UnitOfWorkFactory
from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.jobs")

MONTHLY_JOB_MINUTES = 5  # a reminder due at 08:00 goes out by 08:05, or soon after a restart


async def monthly_job(uow_factory: UnitOfWorkFactory, translator: Translator, clock: Clock, config: CoreConfig,
                      on_commit: Callable[[], None] | None = None) -> int:
    """One transaction: what is due now for the month is queued and committed together;
    `on_commit` wakes the outbox sender."""
    async with uow_factory() as uow:
        count = await monthly_reminders.remind_monthly(uow, translator, config, clock.now())
        await uow.commit()
    if count and on_commit is not None:
        on_commit()
    return count
