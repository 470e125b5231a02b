"""`uow.receipt_checks`: failed tip-off receipt checks per account, for the hourly limit.

The per-receipt lockout (handlers.domain.receipts) stops guessing the PIN of one code; this
stops one account from trying code after code. Rows hold the account and the time only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ReceiptCheckRow


class SqlReceiptCheckRepo:
    """handlers.ports.ReceiptCheckRepo over one session; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def failed_since(self, person_id: int, since: datetime) -> int:
        return (await self.session.scalar(select(func.count()).select_from(ReceiptCheckRow).where(
            ReceiptCheckRow.person_id == person_id, ReceiptCheckRow.at >= since))) or 0

    async def record_failure(self, person_id: int, now: datetime) -> None:
        self.session.add(ReceiptCheckRow(person_id=person_id, at=now))
        await self.session.flush()

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ReceiptCheckRow).where(ReceiptCheckRow.at < before).execution_options(synchronize_session=False))
        return result.rowcount or 0
