"""The blob store on SQLite and PostgreSQL: files by content, stored once whoever puts them, in
the transaction of the message that names them, and pruned once old and delivered."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from handlers.messages import OutFile, Outgoing, Reply
from scheduler.jobs import BLOB_RETENTION, prune_blobs
from storage.tables import BlobRow

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def put(uow_factory, data: bytes, mime: str = "image/png", at: datetime = NOW) -> str:
    async with uow_factory() as uow:
        sha = await uow.blobs.put(data, mime, at)
        await uow.commit()
    return sha


async def get(uow_factory, sha: str):
    async with uow_factory() as uow:
        return await uow.blobs.get(sha)


async def rows(uow_factory) -> list[tuple[str, int, datetime]]:
    async with uow_factory() as uow:
        query = select(BlobRow.sha256, BlobRow.size, BlobRow.created_at).order_by(BlobRow.id)
        result = await uow.session.execute(query)
        return [(sha, size, at.replace(tzinfo=at.tzinfo or timezone.utc)) for sha, size, at in result]


async def test_put_returns_the_sha256_and_get_gives_the_bytes_back(uow_factory):
    big = os.urandom(3 * 1024 * 1024)  # a spreadsheet of a few MB, with every byte value
    sha = await put(uow_factory, big, XLSX_MIME)
    assert sha == hashlib.sha256(big).hexdigest()
    assert await get(uow_factory, sha) == (big, XLSX_MIME)
    assert await get(uow_factory, "0" * 64) is None
    assert await rows(uow_factory) == [(sha, len(big), NOW)]


async def test_putting_the_same_bytes_again_keeps_one_row_and_counts_as_recent_use(uow_factory):
    sha = await put(uow_factory, PNG)
    async with uow_factory() as uow:  # twice in one transaction too
        assert await uow.blobs.put(PNG, "image/png", NOW + timedelta(days=1)) == sha
        assert await uow.blobs.put(PNG, "image/png", NOW + timedelta(days=2)) == sha
        await uow.commit()
    await put(uow_factory, PNG, at=NOW)  # an older time never moves it back
    assert await rows(uow_factory) == [(sha, len(PNG), NOW + timedelta(days=2))]
    assert await get(uow_factory, sha) == (PNG, "image/png")


async def test_two_transactions_putting_the_same_bytes_at_once_both_commit(uow_factory):
    """The second waits for the first (PostgreSQL: the unique index; SQLite: the write lock)
    and finds the row: neither fails."""
    first = uow_factory()
    await first.__aenter__()
    try:
        sha = await first.blobs.put(PNG, "image/png", NOW)
        second = asyncio.create_task(put(uow_factory, PNG, at=NOW + timedelta(minutes=1)))
        await asyncio.sleep(0.3)
        assert not second.done()  # waiting for the first transaction
        await first.commit()
    finally:
        await first.__aexit__(None, None, None)
    assert await asyncio.wait_for(second, 10) == sha
    assert await rows(uow_factory) == [(sha, len(PNG), NOW + timedelta(minutes=1))]


async def test_many_concurrent_puts_of_the_same_bytes(uow_factory):
    shas = await asyncio.gather(*(put(uow_factory, PNG, at=NOW + timedelta(seconds=n)) for n in range(8)))
    assert set(shas) == {hashlib.sha256(PNG).hexdigest()}
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(BlobRow)) == 1


async def test_a_blob_commits_or_rolls_back_with_the_message_that_names_it(uow_factory):
    async with uow_factory() as uow:
        sha = await uow.blobs.put(PNG, "image/png", NOW)
        reply = Reply("Biểu đồ", files=(OutFile("photo", sha, "chart.png", "image/png"),))
        await uow.outbox.add(Outgoing("telegram", "42", reply), NOW)
        # leaving without commit rolls both back
    assert await get(uow_factory, sha) is None
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(BlobRow)) == 0


async def test_prune_drops_old_blobs_no_undelivered_message_names(uow_factory):
    old = NOW - BLOB_RETENTION - timedelta(hours=1)
    sent_only = await put(uow_factory, b"sent long ago", "text/csv", at=old)
    waiting = await put(uow_factory, b"still waiting", "text/csv", at=old)
    unnamed = await put(uow_factory, b"never named", "text/csv", at=old)
    recent = await put(uow_factory, b"recent", "text/csv", at=NOW - timedelta(days=1))
    reused = await put(uow_factory, b"reused", "text/csv", at=old)
    await put(uow_factory, b"reused", "text/csv", at=NOW - timedelta(days=2))  # named again lately

    def named(sha: str) -> Reply:
        return Reply("", files=(OutFile("document", sha, "r.csv", "text/csv"),))

    async with uow_factory() as uow:
        sent_id = await uow.outbox.add(Outgoing("telegram", "1", named(sent_only)), old)
        await uow.outbox.add(Outgoing("web", "c", named(waiting)), old)  # the browser never came back
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(sent_id, old)
        await uow.commit()

    assert await prune_blobs(uow_factory, FixedClock(NOW)) == 2
    assert [sha for sha, _, _ in await rows(uow_factory)] == [waiting, recent, reused]
    assert await get(uow_factory, unnamed) is None and await get(uow_factory, sent_only) is None
    assert await prune_blobs(uow_factory, FixedClock(NOW)) == 0
