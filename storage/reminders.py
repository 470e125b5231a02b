"""Reminders: what the scheduler must do at a given time, as rows (time is data).

The core writes them in the transaction that moves a case; the periodic sweep
(scheduler/jobs.py) locks the due ones and acts on them in one transaction, so its effects
(outbox rows, case events, the next level) commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import Reminder
from storage.tables import ReminderRow

STEP_DUE = "step_due"
# Plain columns, not ORM objects: a sweep reads up to a thousand rows and writes them back by id.
REMINDER_COLUMNS = (ReminderRow.id, ReminderRow.case_id, ReminderRow.kind, ReminderRow.rule_id, ReminderRow.step,
                    ReminderRow.due_at, ReminderRow.level, ReminderRow.data)


class SqlReminderRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_step_reminder(self, case_id: int, *, rule_id: str, step: int, remind_at: datetime,
                                    due_at: datetime, now: datetime) -> None:
        """The open step's reminder: the one of the previous step (or rule) is cancelled."""
        await self.cancel(case_id, STEP_DUE, now)
        self.session.add(ReminderRow(case_id=case_id, kind=STEP_DUE, rule_id=rule_id, step=step, due_at=remind_at,
                                     data={"deadline": due_at.isoformat()}, created_at=now, updated_at=now))

    async def schedule(self, case_id: int, kind: str, *, due_at: datetime, level: int = 0,
                       data: dict[str, Any] | None = None, now: datetime) -> None:
        """The case's one pending reminder of `kind` (one pending before is cancelled)."""
        await self.cancel(case_id, kind, now)
        self.session.add(ReminderRow(case_id=case_id, kind=kind, due_at=due_at, level=level, data=data or {},
                                     created_at=now, updated_at=now))

    async def add(self, case_id: int, kind: str, *, due_at: datetime, data: dict[str, Any] | None = None,
                  now: datetime) -> None:
        """One more pending reminder of `kind` (a case may have several, e.g. check-ins)."""
        self.session.add(ReminderRow(case_id=case_id, kind=kind, due_at=due_at, data=data or {},
                                     created_at=now, updated_at=now))

    async def cancel(self, case_id: int, kind: str, now: datetime) -> int:
        result = await self.session.execute(
            update(ReminderRow).where(ReminderRow.case_id == case_id, ReminderRow.kind == kind,
                                      ReminderRow.status == "pending")
            .values(status="cancelled", updated_at=now).execution_options(synchronize_session=False))
        return int(result.rowcount or 0)

    async def pending(self, case_id: int) -> list[dict[str, Any]]:
        """The case's pending reminders (kind, rule, step, due_at, level), soonest first."""
        query = (select(ReminderRow.kind, ReminderRow.rule_id, ReminderRow.step, ReminderRow.due_at,
                        ReminderRow.level, ReminderRow.data)
                 .where(ReminderRow.case_id == case_id, ReminderRow.status == "pending")
                 .order_by(ReminderRow.due_at, ReminderRow.id))
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def lock_due(self, now: datetime, limit: int, kinds: tuple[str, ...] | None = None) -> list[Reminder]:
        """Pending rows due by `now` (of `kinds`, when given), oldest first, locked until the
        caller's transaction ends. `kinds` keeps rows no handler acts on yet out of the batch.

        PostgreSQL skips rows another worker holds, so two sweeps never act on one row; on
        SQLite every write transaction here is BEGIN IMMEDIATE, so the plain select is safe.
        """
        if limit <= 0:
            return []
        query = (select(*REMINDER_COLUMNS).where(ReminderRow.status == "pending", ReminderRow.due_at <= now)
                 .order_by(ReminderRow.due_at, ReminderRow.id).limit(limit))
        if kinds is not None:
            query = query.where(ReminderRow.kind.in_(kinds))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_reminder(row) for row in await self.session.execute(query)]

    async def lock_one(self, reminder_id: int, now: datetime) -> Reminder | None:
        """The reminder if it is still pending and due, locked until the transaction ends."""
        query = select(*REMINDER_COLUMNS).where(ReminderRow.id == reminder_id, ReminderRow.status == "pending",
                                                ReminderRow.due_at <= now)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = (await self.session.execute(query)).first()
        return _reminder(row) if row is not None else None

    async def reschedule(self, reminder_id: int, due_at: datetime, level: int, now: datetime) -> None:
        """The same reminder, due again later at the next level of its chain."""
        await self.session.execute(
            update(ReminderRow).where(ReminderRow.id == reminder_id)
            .values(due_at=due_at, level=level, updated_at=now).execution_options(synchronize_session=False))

    async def failed_attempt(self, reminder_id: int, *, error: str, now: datetime, max_attempts: int,
                             first_retry: timedelta) -> bool:
        """Its action raised: due again after a doubling wait, or set aside (`failed`) after
        `max_attempts`, so it stops holding back the rest. True when set aside."""
        row = (await self.session.execute(select(ReminderRow.attempts, ReminderRow.data)
                                          .where(ReminderRow.id == reminder_id))).one()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "updated_at": now,
                                  "data": {**(row.data or {}), "error": error[:500]}}
        if attempts >= max_attempts:
            values["status"] = "failed"
        else:
            values["due_at"] = now + first_retry * 2 ** (attempts - 1)
        await self.session.execute(update(ReminderRow).where(ReminderRow.id == reminder_id).values(**values)
                                   .execution_options(synchronize_session=False))
        return attempts >= max_attempts

    async def advance_many(self, moves: list[tuple[int, datetime, int]], now: datetime) -> None:
        """(id, due_at, level) for each reminder of a batch, in one executemany statement."""
        if moves:
            await self.session.execute(
                update(ReminderRow.__table__).where(ReminderRow.__table__.c.id == bindparam("reminder_id"))
                .values(due_at=bindparam("new_due_at"), level=bindparam("new_level"), updated_at=now),
                [{"reminder_id": id_, "new_due_at": due, "new_level": level} for id_, due, level in moves])

    async def finish_many(self, reminder_ids: list[int], status: str, now: datetime) -> None:
        if reminder_ids:
            await self.session.execute(
                update(ReminderRow).where(ReminderRow.id.in_(reminder_ids))
                .values(status=status, updated_at=now).execution_options(synchronize_session=False))

    async def finish(self, reminder_id: int, status: str, now: datetime) -> None:
        """Nothing more to do: `done` (the chain ended) or `cancelled` (no longer applies)."""
        await self.session.execute(
            update(ReminderRow).where(ReminderRow.id == reminder_id)
            .values(status=status, updated_at=now).execution_options(synchronize_session=False))


def _reminder(row: Any) -> Reminder:
    return Reminder(id=row.id, case_id=row.case_id, kind=row.kind, rule_id=row.rule_id, step=row.step,
                    due_at=row.due_at, level=row.level, data=dict(row.data or {}))
