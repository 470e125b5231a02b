"""Web chat uploads that no case keeps leave the disk: a tip-off's original photo (its cleaned
copy is in the blob store) and the files of abandoned forms."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from handlers.domain.model import NewCase
from handlers.messages import FileRef
from scheduler.runner import build_scheduler
from scheduler.uploads import UPLOAD_RETENTION, prune_uploads

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)
OLD = time.time() - UPLOAD_RETENTION.total_seconds() - 60


def upload(folder, name: str, old: bool) -> None:
    path = folder / name
    path.write_bytes(name.encode())
    if old:
        os.utime(path, (OLD, OLD))


async def test_old_uploads_no_case_keeps_are_deleted(uow_factory, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    attached, forgotten, recent, temporary = "a" * 64, "b" * 64, "c" * 64, ".upload-123"
    upload(folder, attached, old=True)
    upload(folder, forgotten, old=True)
    upload(folder, recent, old=False)
    upload(folder, temporary, old=True)  # being written right now by the web chat
    async with uow_factory() as uow:
        case = await uow.cases.add(NewCase(
            kind="dispute", field="land", commune_unit_id=None, group_unit_id=None, address=None, latitude=None,
            longitude=None, summary="A wall on our land", people_count=None, danger_now=False, urgent=False,
            urgency_reasons=[], reporter_id=None, contact_phone=None, created_at=NOW, code_year=2026))
        await uow.cases.add_attachment(case.id, "web", FileRef("photo", f"web:{attached}", attached, 3), NOW)
        await uow.commit()

    assert await prune_uploads(uow_factory, folder) == 1
    assert sorted(path.name for path in folder.iterdir()) == sorted([attached, recent, temporary])
    assert await prune_uploads(uow_factory, tmp_path / "missing") == 0  # no folder yet: nothing to do


def test_the_scheduler_prunes_uploads_when_it_knows_the_folder(uow_factory, tmp_path):
    without = build_scheduler(uow_factory, None, "Asia/Ho_Chi_Minh")
    with_folder = build_scheduler(uow_factory, None, "Asia/Ho_Chi_Minh", upload_dir=tmp_path)
    assert without.get_job("prune_uploads") is None
    assert with_folder.get_job("prune_uploads").args == (uow_factory, tmp_path)
