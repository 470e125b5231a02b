"""The outbox sender: delivers stored replies through their channel, at least once.

Two paths lead here. Replies of a just-committed update were stored already leased to this
process, and are sent at once (`deliver_claimed`), with no claim transaction. Everything else
(retries, rows of a crashed process whose lease ran out, alerts) is claimed by the sweep
(`drain_once`). Sent rows are marked in batches. A crash before the mark only means a resend:
sends are at-least-once. Messages of one chat go out in order; a chat that must wait holds its
later messages back too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.domain.model import OutboxMessage
from handlers.locks import KeyedLocks
from handlers.ports import Channel, Clock, PermanentFailure, RetryLater, UnitOfWorkFactory

log = logging.getLogger("hoagiai.outbox")

MAX_ATTEMPTS = 12
MAX_WAITS = 1500  # a chat that asks us to wait this often (about a day for a closed tab) is given up
MAX_BACKOFF_SECONDS = 15 * 60

ChatKey = tuple[str, str]


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff after `attempts` failed tries: 2, 4, 8 ... capped at 15 minutes."""
    return float(min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


@dataclass
class OutboxSender:
    uow_factory: UnitOfWorkFactory
    channels: dict[str, Channel]
    clock: Clock
    batch_size: int = 100
    lease_seconds: int = 120
    idle_seconds: float = 2.0
    concurrency: int = 8
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _chat_locks: KeyedLocks = field(default_factory=KeyedLocks)
    _waiting_until: dict[ChatKey, datetime] = field(default_factory=dict)
    _sent: list[int] = field(default_factory=list)
    _flushing: bool = False
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set)

    def kick(self) -> None:
        """Something was committed to the outbox: send it now rather than at the next poll."""
        self._wake.set()

    def deliver_claimed(self, messages: list[OutboxMessage]) -> None:
        """Send rows this process stored already leased (the replies of a committed update)."""
        if not messages:
            return
        task = asyncio.ensure_future(self._deliver_batch(messages))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def idle(self) -> None:
        """Wait for sends under way and record what was sent (tests, shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self._flush_sent()

    async def wake_chat(self, channel: str, chat_id: str) -> None:
        """A client came back: what waits for it is due now."""
        self._waiting_until.pop((channel, chat_id), None)
        async with self.uow_factory() as uow:
            woken = await uow.outbox.wake(channel, chat_id, self.clock.now())
            await uow.commit()
        if woken:
            self.kick()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.drain_once()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try again
                log.exception("outbox drain failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=self.idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def drain_once(self) -> int:
        """Claim one batch of due rows and deliver them; returns how many were claimed."""
        if not self.channels:
            return 0
        async with self.uow_factory() as uow:
            claimed = await uow.outbox.claim_due(list(self.channels), self.clock.now(), self.batch_size, self.lease_seconds)
            await uow.commit()
        await self._deliver_batch(claimed)
        return len(claimed)

    async def _deliver_batch(self, messages: list[OutboxMessage]) -> None:
        by_chat: dict[ChatKey, list[OutboxMessage]] = defaultdict(list)
        for message in messages:
            by_chat[(message.channel, message.chat_id)].append(message)
        limit = asyncio.Semaphore(self.concurrency)

        async def deliver_chat(key: ChatKey, chat_messages: list[OutboxMessage]) -> None:
            async with limit, self._chat_locks(key):
                await self._deliver_in_order(key, chat_messages)

        try:
            await asyncio.gather(*(deliver_chat(key, chat) for key, chat in by_chat.items()))
        finally:
            await self._flush_sent()

    async def _deliver_in_order(self, key: ChatKey, messages: list[OutboxMessage]) -> None:
        waiting = self._waiting_until.get(key)
        if waiting is not None and waiting <= self.clock.now():
            self._waiting_until.pop(key, None)
            waiting = None
        for position, message in enumerate(messages):
            delay = None if waiting is not None else await self._deliver(message)
            if waiting is not None or delay is not None:
                until = waiting or self.clock.now() + timedelta(seconds=delay or 0)
                self._waiting_until[key] = until
                for later in messages[position + (0 if waiting is not None else 1) :]:
                    await self._mark_retry(later, "waiting for an earlier message", until)
                return

    async def _deliver(self, message: OutboxMessage) -> float | None:
        """Send one row; returns a delay when the chat must wait, else None."""
        channel = self.channels.get(message.channel)
        if channel is None:
            await self._mark_retry(message, f"no {message.channel} channel in this process", self.clock.now() + timedelta(seconds=60))
            return None
        try:
            await channel.send(message.chat_id, message.payload)
        except RetryLater as wait:
            if message.attempts >= MAX_WAITS:
                await self._mark_failed(message, f"gave up waiting: {wait}")
                return None
            await self._mark_retry(message, str(wait), self.clock.now() + timedelta(seconds=wait.seconds))
            return wait.seconds
        except PermanentFailure as failure:
            log.warning("outbox permanent failure id=%s channel=%s: %s", message.id, message.channel, failure)
            await self._mark_failed(message, str(failure))
            return None
        except Exception as error:  # noqa: BLE001 - network and server errors are retried
            if message.attempts >= MAX_ATTEMPTS:
                log.error("outbox giving up id=%s after %d attempts: %s", message.id, message.attempts, error)
                await self._mark_failed(message, repr(error))
                return None
            delay = backoff_seconds(message.attempts)
            log.warning("outbox retry id=%s in %.0fs: %r", message.id, delay, error)
            await self._mark_retry(message, repr(error), self.clock.now() + timedelta(seconds=delay))
            return delay
        self._sent.append(message.id)
        return None

    async def _flush_sent(self) -> None:
        """Mark sent rows in one transaction; ids sent meanwhile join the next round."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while self._sent:
                ids, self._sent = self._sent, []
                async with self.uow_factory() as uow:
                    await uow.outbox.mark_sent_many(ids, self.clock.now())
                    await uow.commit()
        finally:
            self._flushing = False

    async def _mark_failed(self, message: OutboxMessage, reason: str) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_failed(message.id, reason, self.clock.now())
            await uow.commit()

    async def _mark_retry(self, message: OutboxMessage, reason: str, due: datetime) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_retry(message.id, reason, due)
            await uow.commit()
