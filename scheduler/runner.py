"""APScheduler 3 set-up: a few interval jobs that act on rows, never one job per case."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.ports import Clock, UnitOfWorkFactory
from scheduler.jobs import prune_inbound_updates, purge_expired_forms


def build_scheduler(uow_factory: UnitOfWorkFactory, clock: Clock, timezone: str) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(
        purge_expired_forms, "interval", minutes=10, args=(uow_factory, clock),
        id="purge_expired_forms", coalesce=True, max_instances=1, replace_existing=True,
    )
    scheduler.add_job(
        prune_inbound_updates, "interval", hours=6, args=(uow_factory, clock),
        id="prune_inbound_updates", coalesce=True, max_instances=1, replace_existing=True,
    )
    return scheduler
