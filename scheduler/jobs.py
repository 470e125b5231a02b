"""Periodic work on stored rows. No per-case jobs live in the scheduler: time is data."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.ports import Clock, UnitOfWorkFactory

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
