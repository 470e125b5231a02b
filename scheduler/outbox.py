"""The outbox sender: delivers stored replies through their channel, at least once.

Two paths lead here. Replies of a just-committed update were stored already leased to this
process, and are sent at once (`deliver_claimed`), with no claim transaction. Everything else
(retries, rows of a crashed process whose lease ran out, alerts) is claimed by the sweep
(`drain_once`). Sent rows are marked in batches. A crash before the mark only means a resend:
sends are at-least-once. Messages of one chat go out in order; a chat that must wait holds its
later messages back too: they join the waiting ones in the outbox, and the sweep brings them
back oldest first.

Rate limits live here, not in the client library, because the sender owns order and retries.
A channel with `limits` (a `PacedChannel`, e.g. Telegram) awaits the sender's `pace()` before
each API call, so a reply split into three messages counts three times. Calls are spaced
evenly per chat and per channel (`ChannelPacer`). A RetryLater from such a channel (a 429)
holds the whole channel for that long; whatever meets the hold goes back to the outbox, due
when it ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import cast

from aiolimiter import AsyncLimiter

from handlers.domain.model import OutboxMessage
from handlers.locks import KeyedLocks
from handlers.ports import (
    Channel,
    ChannelLimits,
    Clock,
    PacedChannel,
    PermanentFailure,
    RetryLater,
    UnitOfWorkFactory,
)

log = logging.getLogger("hoagiai.outbox")

MAX_ATTEMPTS = 12
MAX_WAITS = 1500  # a chat that asks us to wait this often (about a day for a closed tab) is given up
MAX_BACKOFF_SECONDS = 15 * 60
MAX_CHATS_TRACKED = 1024  # beyond this, chats free to send again are forgotten

ChatKey = tuple[str, str]


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff after `attempts` failed tries: 2, 4, 8 ... capped at 15 minutes."""
    return float(min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


class ChannelHeld(RetryLater):
    """The channel waits out flood control; nothing was sent."""


class ChannelPacer:
    """Spaces one channel's API calls: all of them by aiolimiter's leaky bucket (capacity one,
    so no bursts, and waiting callers go first come, first served), and each chat's by at least
    its interval from the chat's previous call.

    The chat's spacing runs from when its previous call actually went out, after its wait for
    the channel's turn; a bucket taken before that wait would let two calls to one chat come
    closer than the interval, and one taken after it would spend the channel's turn idle. A
    chat has one call in flight at a time (the sender's chat lock), so a time per chat does it.
    """

    def __init__(self, limits: ChannelLimits, is_group: Callable[[str], bool],
                 max_chats: int = MAX_CHATS_TRACKED) -> None:
        self.limits = limits
        self._is_group = is_group
        self._max_chats = max_chats
        rate = limits.overall_per_second
        self._overall = AsyncLimiter(1, 1 / rate) if rate else None
        self._chat_free_at: dict[str, float] = {}  # event loop time of each chat's next allowed call
        self._hold_until = 0.0

    @property
    def chats_tracked(self) -> int:
        return len(self._chat_free_at)

    def hold(self, seconds: float) -> None:
        """No call starts for `seconds` (flood control)."""
        until = asyncio.get_running_loop().time() + seconds
        self._hold_until = max(self._hold_until, until)

    def held_for(self) -> float:
        return max(0.0, self._hold_until - asyncio.get_running_loop().time())

    async def pace(self, chat_id: str, per_chat: bool = True) -> None:
        """Returns when one more call to `chat_id` keeps within the limits, and counts it as
        made now; raises ChannelHeld while the channel is on hold. `per_chat=False` (a reply
        to what the user just sent) skips the chat's spacing but not the channel's."""
        loop = asyncio.get_running_loop()
        self._check_hold()
        interval = self.limits.chat_interval(self._is_group(chat_id)) if per_chat else None
        if interval is not None:
            while (wait := self._chat_free_at.get(chat_id, 0.0) - loop.time()) > 0:
                await asyncio.sleep(wait)
        if self._overall is not None:
            await self._overall.acquire()
        self._check_hold()  # a 429 may have come while this call waited for its turn
        if interval is not None:
            self._remember(chat_id, loop.time() + interval)

    def _check_hold(self) -> None:
        wait = self.held_for()
        if wait > 0:
            raise ChannelHeld(wait, "channel on hold after flood control")

    def _remember(self, chat_id: str, free_at: float) -> None:
        if chat_id not in self._chat_free_at and len(self._chat_free_at) >= self._max_chats:
            now = asyncio.get_running_loop().time()  # chats free to send again need no entry
            self._chat_free_at = {chat: at for chat, at in self._chat_free_at.items() if at > now}
        self._chat_free_at[chat_id] = free_at


@dataclass
class OutboxSender:
    uow_factory: UnitOfWorkFactory
    channels: dict[str, Channel]
    clock: Clock
    batch_size: int = 100
    lease_seconds: int = 120
    owner: str = field(default_factory=socket.gethostname)  # this worker's name on its leases
    idle_seconds: float = 2.0
    concurrency: int = 8  # chats sent at once on channels without limits
    chat_budget_seconds: float = 10.0  # a chat's later messages go to the next round after this
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _chat_locks: KeyedLocks = field(default_factory=KeyedLocks)
    # Chats with rows back in the outbox: when those are due, and a stamp of when that was set.
    # Later rows of the chat queue behind them until a sweep has claimed everything due.
    _waiting_until: dict[ChatKey, tuple[datetime, int]] = field(default_factory=dict)
    _stamps: itertools.count = field(default_factory=itertools.count)
    _pacers: dict[str, ChannelPacer] = field(default_factory=dict)
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
        task = asyncio.ensure_future(self._deliver_batch(messages, swept=False))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def idle(self) -> None:
        """Wait for sends under way and record what was sent (tests, shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self._flush_sent()

    async def take_back_leases(self) -> int:
        """Before this worker takes any update: what it held when it last stopped (killed
        mid-send) is due again now, not when the lease runs out. Needs a name of its own per
        worker (HOAGIAI_WORKER_NAME); two workers with one name would take each other's."""
        async with self.uow_factory() as uow:
            released = await uow.outbox.release_leases(self.owner, self.clock.now())
            await uow.commit()
        if released:
            log.info("outbox took back %d rows this worker held when it stopped", released)
            self.kick()
        return released

    async def wake_chat(self, channel: str, chat_id: str) -> None:
        """A client came back: what waits for it is due now."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            woken = await uow.outbox.wake(channel, chat_id, now)
            await uow.commit()
        if woken or (channel, chat_id) in self._waiting_until:
            self._wait((channel, chat_id), now)  # due now, but still in the outbox: the sweep sends them
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
        now, stamp = self.clock.now(), next(self._stamps)
        async with self.uow_factory() as uow:
            claimed = await uow.outbox.claim_due(list(self.channels), now, self.batch_size, self.lease_seconds,
                                                 self.owner)
            await uow.commit()
        if len(claimed) < self.batch_size:
            # Every due row was claimed, so chats whose rows were back (and committed) before the
            # claim, due by now, have nothing left behind in the outbox.
            self._waiting_until = {key: (due, set_at) for key, (due, set_at) in self._waiting_until.items()
                                   if due > now or set_at > stamp}
        await self._deliver_batch(claimed, swept=True)
        return len(claimed)

    async def _deliver_batch(self, messages: list[OutboxMessage], *, swept: bool) -> None:
        by_chat: dict[ChatKey, list[OutboxMessage]] = defaultdict(list)
        for message in messages:
            by_chat[(message.channel, message.chat_id)].append(message)
        limit = asyncio.Semaphore(self.concurrency)
        deadline = asyncio.get_running_loop().time() + self.chat_budget_seconds

        async def deliver_chat(key: ChatKey, chat_messages: list[OutboxMessage]) -> None:
            # A paced chat waits for its limiters, not for a slot: the limiters bound the calls.
            slot = nullcontext() if self._pacer(key[0]) is not None else limit
            async with slot, self._chat_locks(key):
                await self._deliver_in_order(key, chat_messages, swept=swept, deadline=deadline)

        try:
            await asyncio.gather(*(deliver_chat(key, chat) for key, chat in by_chat.items()))
        finally:
            await self._flush_sent()

    async def _deliver_in_order(self, key: ChatKey, messages: list[OutboxMessage], *,
                                swept: bool, deadline: float) -> None:
        """A chat's messages, oldest first. While earlier ones wait in the outbox, the rest join
        them there; a sweep brings the chat's due rows back in order."""
        loop = asyncio.get_running_loop()
        for position, message in enumerate(messages):
            until = self._waiting(key)
            if until is not None and (not swept or until > self.clock.now()):
                await self._put_back(key, messages[position:], "waiting for an earlier message", until)
                if until <= self.clock.now():
                    self.kick()  # the earlier ones are due: the sweep brings them all back now
                return
            if position and loop.time() > deadline:  # keep the batch (and its lease) short
                await self._put_back(key, messages[position:], "next round: the chat's pace", self.clock.now())
                self.kick()
                return
            delay = await self._deliver(message, reply=not swept)
            if delay is not None:
                due = self.clock.now() + timedelta(seconds=delay)
                await self._put_back(key, messages[position + 1 :], "waiting for an earlier message", due)
                return

    async def _put_back(self, key: ChatKey, messages: list[OutboxMessage], reason: str, due: datetime) -> None:
        """Return rows to the outbox, due no earlier than what the chat already waits for. The
        caller holds the chat's lock; the wait is recorded once the rows are committed."""
        due = max(due, self._waiting(key) or due)
        for message in messages:
            await self._mark_retry(message, reason, due)
        self._wait(key, due)

    def _waiting(self, key: ChatKey) -> datetime | None:
        entry = self._waiting_until.get(key)
        return entry[0] if entry else None

    def _wait(self, key: ChatKey, due: datetime) -> None:
        self._waiting_until[key] = (due, next(self._stamps))

    def _pacer(self, name: str) -> ChannelPacer | None:
        """The pacer of a channel that has limits (a PacedChannel), else None."""
        channel = self.channels.get(name)
        if channel is None or getattr(channel, "limits", None) is None:
            return None
        paced = cast(PacedChannel, channel)
        pacer = self._pacers.get(name)
        if pacer is None or pacer.limits != paced.limits:
            pacer = self._pacers[name] = ChannelPacer(paced.limits, paced.is_group)
        return pacer

    async def _deliver(self, message: OutboxMessage, *, reply: bool = False) -> float | None:
        """Send one row; returns a delay when the chat must wait, else None.

        A reply of a just-handled update goes out at the user's own pace: Telegram allows a chat
        short bursts, and holding every answer a second made the bot feel slow and kept replies
        in memory (lost until their lease ran out if the process died). Everything the bot sends
        unasked (alerts, notices, reminders, fan-outs) keeps the chat's spacing; a 429 still
        holds the channel."""
        channel = self.channels.get(message.channel)
        if channel is None:
            await self._mark_retry(message, f"no {message.channel} channel in this process", self.clock.now() + timedelta(seconds=60))
            return None
        pacer = self._pacer(message.channel)
        try:
            if pacer is None:
                await channel.send(message.chat_id, message.payload)
            else:
                pace = partial(pacer.pace, message.chat_id, per_chat=not reply)
                await cast(PacedChannel, channel).send(message.chat_id, message.payload, pace=pace)
        except RetryLater as wait:
            if pacer is not None and pacer.limits.hold_channel_on_retry and not isinstance(wait, ChannelHeld):
                log.warning("outbox flood control channel=%s id=%s: every send waits %.1fs",
                            message.channel, message.id, wait.seconds)
                pacer.hold(wait.seconds)
            if message.attempts >= MAX_WAITS:
                await self._mark_failed(message, f"gave up waiting: {wait}")
                return None
            await self._mark_retry(message, str(wait), self.clock.now() + timedelta(seconds=wait.seconds))
            return wait.seconds
        except PermanentFailure as failure:
            log.warning("outbox failed for good id=%s channel=%s error=%s", message.id, message.channel, failure)
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
