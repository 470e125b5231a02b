"""The blob store: files the bot sends (report charts, spreadsheets), by content.

Outbox payloads name a blob by its sha256 (`handlers.messages.OutFile`), so a reply's row stays
small and a report sent to twenty officers is stored once. A blob is only needed until the
messages that name it are delivered; `prune` drops old ones no undelivered row names.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Text, cast, delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import AttachmentRow, BlobRow, OutboxRow

UNDELIVERED = ("pending", "sending")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SqlBlobRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, data: bytes, mime_type: str, now: datetime) -> str:
        """Stores `data` once and returns its sha256.

        One INSERT ... ON CONFLICT on both dialects, so two transactions storing the same bytes
        at once never fail: the second waits for the first and finds the row. A repeated put
        moves `created_at` forward, so the prune's age counts from the newest message naming
        the blob; and a prune racing this put either deletes the row first (the put inserts it
        again) or sees the new time and keeps it.
        """
        digest = sha256_hex(data)
        dialect_insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(BlobRow).values(
            sha256=digest, mime_type=mime_type, size=len(data), data=data, created_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[BlobRow.sha256],
            set_={"created_at": statement.excluded.created_at},
            where=BlobRow.created_at < statement.excluded.created_at,
        )
        await self.session.execute(statement)
        return digest

    async def get(self, sha256: str) -> tuple[bytes, str] | None:
        row = (await self.session.execute(
            select(BlobRow.data, BlobRow.mime_type).where(BlobRow.sha256 == sha256))).first()
        return (bytes(row.data), row.mime_type) if row is not None else None

    async def prune(self, before: datetime) -> int:
        """Deletes blobs stored before `before` that no pending or sending outbox row names and
        no case keeps as an attachment (a tip-off's evidence, cleaned of metadata, lives here).

        Payloads are JSON, so "names" is a text match on the hash (64 hex digits: no false
        match in practice). Undelivered rows are few; the job runs every few hours.
        """
        named = exists().where(
            OutboxRow.status.in_(UNDELIVERED),
            cast(OutboxRow.payload, Text).contains(BlobRow.sha256),
        )
        attached = exists().where(AttachmentRow.sha256 == BlobRow.sha256)
        result = await self.session.execute(
            delete(BlobRow).where(BlobRow.created_at < before, ~named, ~attached)
            .execution_options(synchronize_session=False))
        return result.rowcount or 0
