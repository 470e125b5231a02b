"""The outbox sender: delivers stored replies through their channel, at least once.

Rows are claimed with a lease, so a crash leaves them to be claimed again after restart, and
two workers never send the same row at once. Messages of one chat go out in order; a chat
whose message must wait holds its later messages back too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from handlers.domain.model import OutboxMessage
from handlers.ports import Channel, Clock, PermanentFailure, RetryLater, UnitOfWorkFactory

log = logging.getLogger("hoagiai.outbox")

MAX_ATTEMPTS = 12
MAX_WAITS = 1500  # a chat that asks us to wait this often (about a day for a closed tab) is given up
MAX_BACKOFF_SECONDS = 15 * 60


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

    def kick(self) -> None:
        """Something was committed to the outbox: send it now rather than at the next poll."""
        self._wake.set()

    async def wake_chat(self, channel: str, chat_id: str) -> None:
        """A client came back: what waits for it is due now."""
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
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for message in claimed:
            by_chat[(message.channel, message.chat_id)].append(message)
        limit = asyncio.Semaphore(self.concurrency)
        sent: list[int] = []

        async def deliver_chat(messages: list[OutboxMessage]) -> None:
            async with limit:
                await self._deliver_in_order(messages, sent)

        try:
            await asyncio.gather(*(deliver_chat(messages) for messages in by_chat.values()))
        finally:
            # One transaction for the whole batch; a crash before it re-sends (at least once).
            if sent:
                async with self.uow_factory() as uow:
                    await uow.outbox.mark_sent_many(sent, self.clock.now())
                    await uow.commit()
        return len(claimed)

    async def _deliver_in_order(self, messages: list[OutboxMessage], sent: list[int]) -> None:
        for position, message in enumerate(messages):
            delay = await self._deliver(message, sent)
            if delay is not None:
                for later in messages[position + 1 :]:
                    await self._mark_retry(later, "waiting for an earlier message", delay)
                return

    async def _deliver(self, message: OutboxMessage, sent: list[int]) -> float | None:
        """Send one row (its id joins `sent`); returns a delay when the chat must wait, else None."""
        channel = self.channels[message.channel]
        try:
            await channel.send(message.chat_id, message.payload)
        except RetryLater as wait:
            if message.attempts >= MAX_WAITS:
                await self._mark_failed(message, f"gave up waiting: {wait}")
                return None
            await self._mark_retry(message, str(wait), wait.seconds)
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
            await self._mark_retry(message, repr(error), delay)
            return delay
        sent.append(message.id)
        return None

    async def _mark_failed(self, message: OutboxMessage, reason: str) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_failed(message.id, reason, self.clock.now())
            await uow.commit()

    async def _mark_retry(self, message: OutboxMessage, reason: str, delay: float) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_retry(message.id, reason, self.clock.now() + timedelta(seconds=delay))
            await uow.commit()
