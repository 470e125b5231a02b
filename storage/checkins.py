"""Check-ins after a successful mediation: who was asked on which day, and what they answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import Checkin
from storage.repositories import conflict_on_unique_violation
from storage.tables import CheckinRow


class SqlCheckinRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ask(self, case_id: int, day: int, person_id: int, now: datetime) -> int | None:
        """The question's id; None when this person was already asked on this day of the case."""
        asked = await self.session.scalar(select(CheckinRow.id).where(
            CheckinRow.case_id == case_id, CheckinRow.day == day, CheckinRow.person_id == person_id))
        if asked is not None:
            return None
        row = CheckinRow(case_id=case_id, day=day, person_id=person_id, asked_at=now)
        self.session.add(row)
        async with conflict_on_unique_violation():
            await self.session.flush()
        return row.id

    async def get(self, checkin_id: int) -> Checkin | None:
        row = await self.session.get(CheckinRow, checkin_id)
        return Checkin(row.id, row.case_id, row.day, row.person_id, row.answer) if row is not None else None

    async def answer(self, checkin_id: int, answer: str, now: datetime) -> bool:
        """Record the answer; False when the question was answered already (a second press)."""
        result = await self.session.execute(
            update(CheckinRow).where(CheckinRow.id == checkin_id, CheckinRow.answer.is_(None))
            .values(answer=answer, answered_at=now).execution_options(synchronize_session=False))
        return bool(result.rowcount)
