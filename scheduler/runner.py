"""APScheduler 3 set-up: a few interval jobs that act on rows, never one job per case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from datetime import timezone as dt_timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.ports import Clock, Translator, UnitOfWorkFactory
from handlers.services import CoreConfig
from scheduler.jobs import prune_blobs, prune_inbound_updates, purge_expired_forms, sweep_reminders
from scheduler.monthly import MONTHLY_JOB_MINUTES, monthly_job
from scheduler.retention import anonymise_old_cases
from scheduler.uploads import prune_uploads

REMINDER_SWEEP_SECONDS = 30
RETENTION_FIRST_RUN = timedelta(minutes=10)


def build_scheduler(uow_factory: UnitOfWorkFactory, clock: Clock, timezone: str, *,
                    translator: Translator | None = None, config: CoreConfig | None = None,
                    on_commit: Callable[[], None] | None = None,
                    sweep_seconds: float = REMINDER_SWEEP_SECONDS,
                    upload_dir: Path | None = None) -> AsyncIOScheduler:
    """The periodic jobs; the reminder sweep needs the translator and the core's config, the
    uploads' prune the web chat's upload folder."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(
        purge_expired_forms, "interval", minutes=10, args=(uow_factory, clock),
        id="purge_expired_forms", coalesce=True, max_instances=1, replace_existing=True,
    )
    scheduler.add_job(
        prune_inbound_updates, "interval", hours=6, args=(uow_factory, clock),
        id="prune_inbound_updates", coalesce=True, max_instances=1, replace_existing=True,
    )
    scheduler.add_job(
        prune_blobs, "interval", hours=6, args=(uow_factory, clock),
        id="prune_blobs", coalesce=True, max_instances=1, replace_existing=True,
    )
    scheduler.add_job(  # daily, and soon after a start: a bot restarted every day still runs it
        anonymise_old_cases, "interval", hours=24, args=(uow_factory, clock, (config or CoreConfig()).retention_years),
        next_run_time=datetime.now(dt_timezone.utc) + RETENTION_FIRST_RUN,  # APScheduler runs on wall time
        id="anonymise_old_cases", coalesce=True, max_instances=1, replace_existing=True,
    )
    if upload_dir is not None:
        scheduler.add_job(
            prune_uploads, "interval", hours=6, args=(uow_factory, upload_dir),
            id="prune_uploads", coalesce=True, max_instances=1, replace_existing=True,
        )
    if translator is not None and config is not None:
        scheduler.add_job(
            sweep_reminders, "interval", seconds=sweep_seconds,
            args=(uow_factory, translator, clock, config), kwargs={"on_commit": on_commit},
            id="sweep_reminders", coalesce=True, max_instances=1, replace_existing=True,
        )
        scheduler.add_job(  # an interval, not a cron at 08:00: a bot down at 08:00 catches up
            monthly_job, "interval", minutes=MONTHLY_JOB_MINUTES,
            args=(uow_factory, translator, clock, config), kwargs={"on_commit": on_commit},
            id="monthly_reminders", coalesce=True, max_instances=1, replace_existing=True,
        )
    return scheduler
