"""Retention: closed cases are anonymised after `retention_years` (HOAGIAI_RETENTION_YEARS).

The reporter is unlinked and the contact phone, the parties' contacts, the address and the
coordinates are cleared; what the statistics and reports count (code, field, nature, dates,
outcome, events) stays. Runs daily, in batches of one transaction each; a case already
anonymised is not touched again. Logs counts only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from handlers.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("hoagiai.retention")

BATCH = 500


def years_before(now: datetime, years: int) -> datetime:
    """The same date `years` earlier (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


async def anonymise_old_cases(uow_factory: UnitOfWorkFactory, clock: Clock, years: int, batch: int = BATCH) -> int:
    """Anonymise every case closed more than `years` ago; returns how many were changed."""
    cutoff = years_before(clock.now(), years)
    total = 0
    while True:
        async with uow_factory() as uow:
            count = await uow.privacy.anonymise_closed(cutoff, batch)
            await uow.commit()
        total += count
        if count < batch:
            break
    if total:
        log.info("anonymised closed cases count=%d years=%d", total, years)
    return total
