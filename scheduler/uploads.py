"""Web chat uploads that no case keeps are deleted from disk after a few days.

The web chat writes every uploaded file to `upload_dir/<sha256>` before the core sees it
(bot/web/chat_protocol.py). A dispute's attachment names it ("web:<sha256>"); a crime tip-off's
evidence is kept as a copy cleaned of metadata in the blob store, so its original (with the
photo's GPS and device data) is named by nothing and must not stay on disk. Nor must files of
forms that were abandoned. Forms expire within a day, so a file older than `UPLOAD_RETENTION`
that no attachment names will never be needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from pathlib import Path

from handlers.ports import UnitOfWorkFactory

log = logging.getLogger("hoagiai.uploads")

UPLOAD_RETENTION = timedelta(days=3)
WEB_FILE_PREFIX = "web:"
BATCH = 500


def _old_files(upload_dir: Path, older_than: timedelta) -> list[Path]:
    """Uploaded files (not the temporary ".upload-*" ones) last written before the cut-off."""
    if not upload_dir.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    return [path for path in upload_dir.iterdir()
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff]


async def prune_uploads(uow_factory: UnitOfWorkFactory, upload_dir: Path,
                        older_than: timedelta = UPLOAD_RETENTION) -> int:
    """Deletes old uploads no attachment names; returns how many."""
    candidates = await asyncio.to_thread(_old_files, upload_dir, older_than)
    removed = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start:start + BATCH]
        async with uow_factory() as uow:
            kept = await uow.cases.attached_file_ids([WEB_FILE_PREFIX + path.name for path in batch])  # type: ignore[attr-defined]
        for path in batch:
            if WEB_FILE_PREFIX + path.name not in kept:
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("pruned web uploads count=%d", removed)
    return removed
