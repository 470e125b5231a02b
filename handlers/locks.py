"""Per-key asyncio locks, so work for one chat runs in order while other chats run alongside."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class KeyedLocks:
    """One lock per key; idle locks are forgotten once there are more than `limit`."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def __call__(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > self.limit:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock
