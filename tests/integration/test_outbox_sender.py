"""The outbox sender over a real database: order per chat, waits, permanent failures, wake-ups."""

from datetime import datetime, timedelta, timezone

from handlers.messages import Outgoing, Reply
from handlers.ports import PermanentFailure, RetryLater
from scheduler import outbox as outbox_module
from scheduler.outbox import OutboxSender

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
