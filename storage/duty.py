"""Duty shifts: who of the ward police is on duty now (urgent alerts and escalations go to them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import DutyShiftRow


class SqlDutyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(self, person_id: int, unit_id: int, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
        """A new shift; one still running for the person ends when this one begins."""
        await self.end(person_id, starts_at)
        self.session.add(DutyShiftRow(person_id=person_id, unit_id=unit_id, starts_at=starts_at, ends_at=ends_at,
                                      created_at=now))

    async def end(self, person_id: int, now: datetime) -> int:
        """End the person's running (or future) shifts at `now`; how many were cut short."""
        result = await self.session.execute(
            update(DutyShiftRow).where(DutyShiftRow.person_id == person_id, DutyShiftRow.ends_at > now)
            .values(ends_at=now).execution_options(synchronize_session=False))
        return int(result.rowcount or 0)

    async def on_duty(self, unit_ids: list[int], now: datetime) -> list[int]:
        """The people on duty in these units at `now`."""
        if not unit_ids:
            return []
        query = (select(DutyShiftRow.person_id).distinct()
                 .where(DutyShiftRow.unit_id.in_(unit_ids), DutyShiftRow.starts_at <= now, DutyShiftRow.ends_at > now))
        return sorted(await self.session.scalars(query))

    async def shift_end(self, person_id: int, now: datetime) -> datetime | None:
        """When the person's running shift ends; None when they are not on duty."""
        query = (select(DutyShiftRow.ends_at)
                 .where(DutyShiftRow.person_id == person_id, DutyShiftRow.starts_at <= now, DutyShiftRow.ends_at > now)
                 .order_by(DutyShiftRow.ends_at.desc()).limit(1))
        return await self.session.scalar(query)
