"""The outbox sender over a real database: order per chat, waits, permanent failures, wake-ups,
rate limits and flood control (with fast limits and a scripted channel), dedupe, restarts."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from handlers.messages import Outgoing, Reply
from handlers.ports import ChannelLimits, PermanentFailure, RetryLater
from scheduler import outbox as outbox_module
from scheduler.outbox import ChannelPacer, OutboxSender

START = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.current = START

    def now(self):
        return self.current


class Channel:
    """Records sends; `blocked` chats fail for good, `away` chats ask us to wait."""

    name = "web"

    def __init__(self):
        self.sent, self.blocked, self.away = [], set(), set()

    async def send(self, chat_id, payload):
        if chat_id in self.blocked:
            raise PermanentFailure("blocked")
        if chat_id in self.away:
            raise RetryLater(60, "not connected")
        self.sent.append((chat_id, payload["text"]))


async def enqueue(uow_factory, *messages):
    async with uow_factory() as uow:
        for chat_id, text in messages:
            await uow.outbox.add(Outgoing("web", chat_id, Reply(text)), START)
        await uow.commit()


async def status_of(uow_factory):
    from sqlalchemy import text

    async with uow_factory() as uow:
        rows = await uow.session.execute(text("select chat_id, status from outbox order by id"))
        return [tuple(row) for row in rows]


async def test_messages_of_a_chat_go_in_order_and_wait_together(uow_factory):
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.away.add("a")
    await enqueue(uow_factory, ("a", "1"), ("a", "2"), ("b", "x"))
    await sender.drain_once()
    assert channel.sent == [("b", "x")]
    channel.away.clear()
    clock.current += timedelta(seconds=61)
    await sender.drain_once()
    assert channel.sent[1:] == [("a", "1"), ("a", "2")]


async def test_a_reconnecting_client_is_served_at_once(uow_factory):
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.away.add("a")
    await enqueue(uow_factory, ("a", "hello"))
    await sender.drain_once()
    assert await sender.drain_once() == 0  # waiting 60 s
    channel.away.clear()
    await sender.wake_chat("web", "a")
    await sender.drain_once()
    assert channel.sent == [("a", "hello")]


async def test_permanent_failure_is_not_retried(uow_factory):
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.blocked.add("a")
    await enqueue(uow_factory, ("a", "hello"))
    await sender.drain_once()
    clock.current += timedelta(days=1)
    assert await sender.drain_once() == 0
    assert await status_of(uow_factory) == [("a", "failed")]


async def test_a_client_that_never_returns_is_given_up(uow_factory, monkeypatch):
    monkeypatch.setattr(outbox_module, "MAX_WAITS", 3)
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.away.add("a")
    await enqueue(uow_factory, ("a", "hello"))
    for _ in range(4):
        await sender.drain_once()
        clock.current += timedelta(seconds=61)
    assert await status_of(uow_factory) == [("a", "failed")]


async def test_transient_errors_back_off(uow_factory):
    clock = Clock()
    calls = []

    class Flaky:
        name = "web"

        async def send(self, chat_id, payload):
            calls.append(clock.now())
            if len(calls) < 3:
                raise ConnectionError("network down")

    sender = OutboxSender(uow_factory, {"web": Flaky()}, clock)
    await enqueue(uow_factory, ("a", "hello"))
    await sender.drain_once()
    assert await sender.drain_once() == 0  # backing off
    clock.current += timedelta(seconds=3)
    await sender.drain_once()
    clock.current += timedelta(seconds=5)
    await sender.drain_once()
    assert len(calls) == 3
    assert await status_of(uow_factory) == [("a", "sent")]


async def test_rows_stored_leased_wait_for_their_lease_then_the_sweep_sends_them(uow_factory):
    """A process that stored replies leased to itself and died: they go out after the lease."""
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    async with uow_factory() as uow:
        await uow.outbox.add(Outgoing("web", "a", Reply("hello")), START, lease_seconds=120)
        await uow.commit()
    assert await sender.drain_once() == 0
    clock.current += timedelta(seconds=121)
    assert await sender.drain_once() == 1
    assert channel.sent == [("a", "hello")]
    assert await status_of(uow_factory) == [("a", "sent")]


async def test_a_restarted_worker_takes_back_its_own_leases_at_once_and_no_others(uow_factory):
    """Killed mid-send, a worker restarted under its name resends what it held without waiting
    for the lease; rows another worker holds stay with that worker."""
    clock, channel = Clock(), Channel()
    async with uow_factory() as uow:
        await uow.outbox.add(Outgoing("web", "a", Reply("mine")), START, lease_seconds=120, owner="worker-1")
        await uow.outbox.add(Outgoing("web", "b", Reply("theirs")), START, lease_seconds=120, owner="worker-2")
        await uow.commit()
    restarted = OutboxSender(uow_factory, {"web": channel}, clock, owner="worker-1")
    assert await restarted.drain_once() == 0  # both leased: the sweep alone waits for the lease
    assert await restarted.take_back_leases() == 1
    assert await restarted.drain_once() == 1
    assert channel.sent == [("a", "mine")]
    assert await status_of(uow_factory) == [("a", "sent"), ("b", "sending")]
    assert await restarted.take_back_leases() == 0  # its own sent row is not taken back


async def test_direct_delivery_keeps_chat_order_and_marks_rows_sent(uow_factory):
    from handlers.domain.model import OutboxMessage

    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    leased = []
    async with uow_factory() as uow:
        for text in ("1", "2", "3"):
            row_id = await uow.outbox.add(Outgoing("web", "a", Reply(text)), START, lease_seconds=120)
            leased.append(OutboxMessage(row_id, "web", "a", Reply(text).to_payload(), None, attempts=1))
        await uow.commit()
    sender.deliver_claimed(leased[:1])
    sender.deliver_claimed(leased[1:])
    await sender.idle()
    assert channel.sent == [("a", "1"), ("a", "2"), ("a", "3")]
    assert await status_of(uow_factory) == [("a", "sent")] * 3


# --- rate limits, flood control, dedupe, restarts, failures ---------------------------------------

# Fast limits, so the tests take a fraction of a second: calls 5 ms apart in all, 100 ms apart
# in a chat, 200 ms in a group ("-" ids).
FAST = ChannelLimits(overall_per_second=200, per_chat_per_second=10, per_group_per_minute=300,
                     hold_channel_on_retry=True)


class PacedChannel:
    """A channel with limits that sends "a|b|c" as three calls and records each call's loop time."""

    name = "web"

    def __init__(self, limits=FAST):
        self.limits = limits
        self.calls, self.flood = [], {}  # flood: chat -> seconds for its next call to raise RetryLater
        self.flooded_at = None

    def is_group(self, chat_id):
        return chat_id.startswith("-")

    async def send(self, chat_id, payload, *, pace=None):
        for part in payload["text"].split("|"):
            await pace()
            if chat_id in self.flood:
                self.flooded_at = asyncio.get_running_loop().time()
                raise RetryLater(self.flood.pop(chat_id), "429")
            self.calls.append((chat_id, part, asyncio.get_running_loop().time()))

    def times(self, chat_id=None):
        return [at for chat, _, at in self.calls if chat_id in (None, chat)]

    def parts(self, chat_id):
        return [part for chat, part, _ in self.calls if chat == chat_id]


def gaps(times):
    return [later - earlier for earlier, later in zip(times, times[1:])]


async def test_calls_are_spaced_per_chat_per_group_and_overall_and_split_replies_count(uow_factory):
    clock, channel = Clock(), PacedChannel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    others = [(f"c{n}", "hi") for n in range(20)]
    await enqueue(uow_factory, ("a", "1|2|3"), ("-g", "x"), *others, ("a", "4"), ("-g", "y"))
    assert await sender.drain_once() == 24
    assert channel.parts("a") == ["1", "2", "3", "4"] and channel.parts("-g") == ["x", "y"]
    assert len(channel.calls) == 26  # the split reply made three calls
    assert min(gaps(channel.times("a"))) >= 0.1 * 0.99
    assert min(gaps(channel.times("-g"))) >= 0.2 * 0.99
    assert min(gaps(sorted(channel.times()))) >= 0.005 * 0.99
    assert await status_of(uow_factory) == [(chat, "sent") for chat in ["a", "-g", *(c for c, _ in others), "a", "-g"]]


async def test_flood_control_holds_the_whole_channel_and_the_message_still_arrives_in_order(uow_factory):
    clock, channel = Clock(), PacedChannel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.flood["a"] = 0.3
    await enqueue(uow_factory, ("a", "1"), ("a", "2"), ("b", "x"))
    await sender.drain_once()
    assert channel.calls == []  # b waits too: the 429 holds every chat of the channel
    clock.current += timedelta(seconds=1)
    await sender.drain_once()  # due in the database, but the hold has not ended yet
    assert channel.calls == []
    await asyncio.sleep(channel.flooded_at + 0.31 - asyncio.get_running_loop().time())
    clock.current += timedelta(seconds=1)
    assert await sender.drain_once() == 3
    assert channel.parts("a") == ["1", "2"] and channel.parts("b") == ["x"]
    assert min(channel.times()) >= channel.flooded_at + 0.3
    assert await status_of(uow_factory) == [("a", "sent"), ("a", "sent"), ("b", "sent")]


async def test_a_chat_with_a_long_queue_yields_to_the_next_round_in_order(uow_factory):
    clock, channel = Clock(), PacedChannel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock, chat_budget_seconds=0.15)
    await enqueue(uow_factory, *[("a", str(n)) for n in range(6)])
    await sender.drain_once()
    assert 0 < len(channel.calls) < 6  # the rest went back to the outbox, due now
    rounds = 1
    while await sender.drain_once():
        rounds += 1
    assert channel.parts("a") == [str(n) for n in range(6)] and rounds > 1
    assert min(gaps(channel.times("a"))) >= 0.1 * 0.99


async def test_replies_queue_behind_earlier_messages_waiting_in_the_outbox(uow_factory):
    """A direct reply never overtakes rows of its chat that are back in the outbox, even once
    they are due and before the sweep has picked them up."""
    from handlers.domain.model import OutboxMessage

    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.away.add("a")
    await enqueue(uow_factory, ("a", "1"))
    await sender.drain_once()

    async def reply(text):
        async with uow_factory() as uow:
            row_id = await uow.outbox.add(Outgoing("web", "a", Reply(text)), clock.now(), lease_seconds=120)
            await uow.commit()
        sender.deliver_claimed([OutboxMessage(row_id, "web", "a", Reply(text).to_payload(), None, attempts=1)])
        await sender.idle()

    await reply("2")  # "1" waits 60 s
    channel.away.clear()
    clock.current += timedelta(seconds=61)
    await reply("3")  # "1" and "2" are due, but still in the outbox
    assert channel.sent == []
    while await sender.drain_once():
        pass
    assert channel.sent == [("a", "1"), ("a", "2"), ("a", "3")]
    await reply("4")  # nothing waits any more: straight out
    assert channel.sent[-1] == ("a", "4")


async def test_the_pacer_forgets_chats_that_may_send_again():
    limits = ChannelLimits(per_chat_per_second=100)  # 10 ms apart
    pacer = ChannelPacer(limits, lambda chat_id: False, max_chats=4)
    seen = []
    for n in range(12):
        await pacer.pace(f"c{n}")
        seen.append(pacer.chats_tracked)
        await asyncio.sleep(0.011)
    assert max(seen) <= 4


async def test_a_re_enqueued_dedupe_key_is_sent_once(uow_factory):
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)

    async def alert():
        async with uow_factory() as uow:
            outgoing = Outgoing("web", "officers", Reply("urgent"), dedupe_key="alert:case:7")
            row_id = await uow.outbox.add(outgoing, clock.now())
            await uow.commit()
        return row_id

    first = await alert()
    assert await alert() == first  # while pending
    await sender.drain_once()
    assert await alert() == first  # once sent
    clock.current += timedelta(minutes=5)
    assert await sender.drain_once() == 0
    assert channel.sent == [("officers", "urgent")]
    assert await status_of(uow_factory) == [("officers", "sent")]


async def test_rows_claimed_by_a_sender_that_died_are_sent_after_its_lease(uow_factory):
    clock, channel = Clock(), Channel()
    await enqueue(uow_factory, ("a", "1"), ("a", "2"), ("b", "x"))
    async with uow_factory() as uow:  # the first process claimed the batch, then was killed
        assert len(await uow.outbox.claim_due(["web"], START, 100, 120)) == 3
        await uow.commit()
    restarted = OutboxSender(uow_factory, {"web": channel}, clock)
    assert await restarted.drain_once() == 0
    clock.current += timedelta(seconds=121)
    assert await restarted.drain_once() == 3
    assert channel.sent == [("a", "1"), ("a", "2"), ("b", "x")]
    assert await status_of(uow_factory) == [("a", "sent"), ("a", "sent"), ("b", "sent")]


async def test_failures_are_logged_without_text_and_listed_for_officers(uow_factory, caplog):
    clock, channel = Clock(), Channel()
    sender = OutboxSender(uow_factory, {"web": channel}, clock)
    channel.blocked.update({"a", "b"})
    await enqueue(uow_factory, ("a", "secret 1"), ("b", "secret 2"))
    async with uow_factory() as uow:  # pre-consent rows are scrubbed when given up: not listed
        await uow.outbox.add(Outgoing("web", "c", Reply("hello"), ephemeral=True), START)
        await uow.commit()
    channel.blocked.add("c")
    with caplog.at_level(logging.WARNING, logger="hoagiai.outbox"):
        await sender.drain_once()
    clock.current += timedelta(hours=1)
    await enqueue(uow_factory, ("a", "secret 3"))
    await sender.drain_once()
    warnings = [r.getMessage() for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(warnings) == 4 and all("channel=web" in w and "secret" not in w for w in warnings)
    async with uow_factory() as uow:
        recent = await uow.outbox.failed_recipients(START + timedelta(minutes=30))
        everyone = await uow.outbox.failed_recipients(START)
    assert [(r.chat_id, r.failures, r.last_message_id) for r in recent] == [("a", 1, 4)]
    assert recent[0].last_failed_at == START + timedelta(hours=1)
    assert [(r.chat_id, r.failures) for r in everyone] == [("a", 2), ("b", 1)]
    assert everyone[0].last_error == "blocked" and everyone[0].channel == "web"
