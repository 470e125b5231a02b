"""Periodic work on stored rows. No per-case jobs live in the scheduler: time is data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from handlers import reminders
from handlers.ports import Clock, Translator, UnitOfWorkFactory
from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.jobs")


async def purge_expired_forms(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Remove forms abandoned past their expiry, so their answers are not kept."""
    async with uow_factory() as uow:
        removed = await uow.forms.purge_expired(clock.now())
        await uow.commit()
    if removed:
        log.info("purged expired forms count=%d", removed)
    return removed


UPDATE_RETENTION = timedelta(days=7)


async def prune_inbound_updates(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop handled update ids once no platform can deliver them again."""
    async with uow_factory() as uow:
        removed = await uow.updates.prune(clock.now() - UPDATE_RETENTION)
        await uow.commit()
    return removed


async def sweep_reminders(uow_factory: UnitOfWorkFactory, translator: Translator, clock: Clock, config: CoreConfig,
                          limit: int = 1000, on_commit: Callable[[], None] | None = None) -> int:
    """Act on every due reminder; returns how many were acted on.

    One transaction per batch: the due rows are locked, acted on, and the effects (outbox rows,
    case events, each row's next level) commit together, so a crash before commit loses nothing
    and does nothing twice. Another worker's sweep skips the locked rows. `on_commit` wakes the
    outbox sender.
    """
    total = 0
    while True:
        count = await _sweep_batch(uow_factory, translator, clock.now(), config, limit)
        total += count
        if count and on_commit is not None:
            on_commit()
        if count < limit:
            break
    if total:
        log.info("swept reminders count=%d", total)
    return total


async def _sweep_batch(uow_factory: UnitOfWorkFactory, translator: Translator, now: datetime, config: CoreConfig,
                       limit: int) -> int:
    """One transaction: an exception anywhere rolls the whole batch back, to be done next time."""
    async with uow_factory() as uow:
        due = await uow.reminders.lock_due(now, limit, kinds=reminders.KINDS)
        for reminder in due:
            await reminders.act(uow, translator, config, reminder, now)
        await uow.commit()
    return len(due)
