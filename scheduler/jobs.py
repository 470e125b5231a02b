"""Periodic work on stored rows. No per-case jobs live in the scheduler: time is data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from handlers import form_reminders, reminders
from handlers.domain.model import Reminder
from handlers.messages import Outgoing
from handlers.ports import Clock, OutboxRepo, Translator, UnitOfWorkFactory
from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.jobs")


async def purge_expired_forms(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Remove forms abandoned past their expiry, so their answers are not kept."""
    async with uow_factory() as uow:
        removed = await uow.forms.purge_expired(clock.now())
        await uow.commit()
    if removed:
        log.info("purged expired forms count=%d", removed)
    return removed


UPDATE_RETENTION = timedelta(days=7)
RECEIPT_CHECK_RETENTION = timedelta(days=1)  # longer than the hourly limit looks back


async def prune_inbound_updates(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop handled update ids once no platform can deliver them again, and failed receipt
    checks once the hourly limit no longer counts them."""
    async with uow_factory() as uow:
        removed = await uow.updates.prune(clock.now() - UPDATE_RETENTION)
        await uow.receipt_checks.prune(clock.now() - RECEIPT_CHECK_RETENTION)
        await uow.commit()
    return removed


BLOB_RETENTION = timedelta(days=30)


async def prune_blobs(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop files the bot sent once they are old and no undelivered message names them: they
    are only kept to be delivered (a web chat link to one older than this stops working)."""
    async with uow_factory() as uow:
        removed = await uow.blobs.prune(clock.now() - BLOB_RETENTION)
        await uow.commit()
    if removed:
        log.info("pruned sent files count=%d", removed)
    return removed


MAX_REMINDER_ATTEMPTS = 5  # a reminder whose action raised this often is set aside (status failed)
FIRST_REMINDER_RETRY = timedelta(minutes=5)


async def sweep_reminders(uow_factory: UnitOfWorkFactory, translator: Translator, clock: Clock, config: CoreConfig,
                          limit: int = 1000, on_commit: Callable[[], None] | None = None) -> int:
    """Act on every due reminder, then remind abandoned forms; returns how many were acted on.

    One transaction per batch: the due rows are locked, acted on, and the effects (outbox rows,
    case events, each row's next level) commit together, so a crash before commit loses nothing
    and does nothing twice. Another worker's sweep skips the locked rows. `on_commit` wakes the
    outbox sender.
    """
    total = 0
    for batch in (_sweep_batch, _forms_batch):
        while True:
            count = await batch(uow_factory, translator, clock.now(), config, limit)
            total += count
            if count and on_commit is not None:
                on_commit()
            if count < limit:
                break
    if total:
        log.info("swept reminders count=%d", total)
    return total


async def _sweep_batch(uow_factory: UnitOfWorkFactory, translator: Translator, now: datetime, config: CoreConfig,
                       limit: int) -> int:
    """One transaction: an exception anywhere rolls the whole batch back. Then each reminder is
    tried alone, so one that keeps failing (a bug, bad data) is retried later and finally set
    aside instead of holding back every other reminder of its batch for ever. A killed process
    raises nothing here: its transaction is simply never committed."""
    try:
        async with uow_factory() as uow:
            due = await uow.reminders.lock_due(now, limit, kinds=reminders.KINDS)
            await reminders.act_batch(uow, translator, config, due, now)
            await uow.commit()
        return len(due)
    except Exception:  # noqa: BLE001 - which reminder failed is found out one by one
        log.exception("reminder batch failed; acting on each alone")
    return await _each_alone(uow_factory, translator, now, config, limit)


async def _each_alone(uow_factory: UnitOfWorkFactory, translator: Translator, now: datetime, config: CoreConfig,
                      limit: int) -> int:
    async with uow_factory() as uow:
        due = await uow.reminders.lock_due(now, limit, kinds=reminders.KINDS)
    for reminder in due:
        try:
            async with uow_factory() as uow:
                current = await uow.reminders.lock_one(reminder.id, now)
                if current is not None:  # not done meanwhile by another worker
                    await reminders.act(uow, translator, config, current, now)
                    await uow.commit()
        except Exception as error:  # noqa: BLE001 - recorded on the row, retried, then set aside
            async with uow_factory() as uow:
                set_aside = await uow.reminders.failed_attempt(
                    reminder.id, error=repr(error), now=now, max_attempts=MAX_REMINDER_ATTEMPTS,
                    first_retry=FIRST_REMINDER_RETRY)
                await uow.commit()
            log.log(logging.ERROR if set_aside else logging.WARNING,
                    "reminder failed id=%d kind=%s case=%s set_aside=%s error=%r",
                    reminder.id, reminder.kind, reminder.case_id, set_aside, error)
    return len(due)


async def _forms_batch(uow_factory: UnitOfWorkFactory, translator: Translator, now: datetime, config: CoreConfig,
                       limit: int) -> int:
    """The one reminder of forms about to expire, in one transaction."""
    async with uow_factory() as uow:
        count = await form_reminders.remind(uow, translator, config, now, limit)
        await uow.commit()
    return count


# --- dry run --------------------------------------------------------------------------------

PREVIEW_MAX_ROUNDS = 20  # successive sweeps at one moment; a chain that never settles stops here


@dataclass(frozen=True)
class PreviewMessage:
    """One message a sweep at the previewed moment would queue, and the reminder behind it."""

    send_at: datetime  # the moment itself, or later when the message waits (quiet hours)
    channel: str
    chat_id: str
    recipient: str  # the person's name, else the chat id
    urgent: bool
    text: str
    reminder_id: int
    kind: str
    case_code: str | None


@dataclass(frozen=True)
class SweepPreview:
    at: datetime
    acted: int  # reminder actions, a row counted once per time it fell due
    messages: list[PreviewMessage]
    complete: bool  # False when PREVIEW_MAX_ROUNDS stopped a chain that kept falling due


class _RecordingOutbox:
    """Stands in for `uow.outbox` during a preview: stores each message as usual (the
    transaction is rolled back) and remembers it with the reminder being acted on."""

    def __init__(self, outbox: Any) -> None:
        self._outbox = outbox
        self.reminder: Reminder | None = None
        self.added: list[tuple[Outgoing, Reminder]] = []
        self._ids: set[int] = set()

    async def add(self, message: Outgoing, now: datetime, lease_seconds: int | None = None,
                  owner: str | None = None) -> int:
        message_id: int = await self._outbox.add(message, now, lease_seconds, owner)
        if message_id not in self._ids and self.reminder is not None:  # a repeated dedupe key sends once
            self._ids.add(message_id)
            self.added.append((message, self.reminder))
        return message_id

    async def add_many(self, messages: list[Outgoing], now: datetime) -> None:
        for message in messages:
            await self.add(message, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


async def preview_sweep(uow_factory: UnitOfWorkFactory, translator: Translator, config: CoreConfig, at: datetime,
                        limit: int = 1000) -> SweepPreview:
    """What the sweep would send at `at`, for a ward to check its configuration; writes nothing.

    The real code runs (lock_due, reminders.act) in one transaction that is never committed.
    Rows rescheduled to `at` or earlier are acted on again, as the next sweeps would, up to
    PREVIEW_MAX_ROUNDS batches. On PostgreSQL the rows stay locked while this runs, so a
    running bot's sweep skips them until the next one.
    """
    async with uow_factory() as uow:
        recorder = _RecordingOutbox(uow.outbox)
        uow.outbox = cast(OutboxRepo, recorder)
        acted, complete = 0, False
        for _ in range(PREVIEW_MAX_ROUNDS):
            due = await uow.reminders.lock_due(at, limit, kinds=reminders.KINDS)
            if not due:
                complete = True
                break
            for reminder in due:
                recorder.reminder = reminder
                await reminders.act(uow, translator, config, reminder, at)
            acted += len(due)
        messages = [await _preview_message(uow, message, reminder, at) for message, reminder in recorder.added]
        await uow.rollback()
    return SweepPreview(at=at, acted=acted, messages=messages, complete=complete)


async def _preview_message(uow: Any, message: Outgoing, reminder: Reminder, at: datetime) -> PreviewMessage:
    person = await uow.people.by_identity(message.channel, message.chat_id)
    names = await uow.staff.names([person.id]) if person is not None else {}
    case = await uow.casework.get(reminder.case_id) if reminder.case_id is not None else None
    return PreviewMessage(
        send_at=message.due_at(at), channel=message.channel,
        chat_id=message.chat_id, recipient=names.get(person.id, message.chat_id) if person else message.chat_id,
        urgent=message.urgent, text=message.reply.text, reminder_id=reminder.id, kind=reminder.kind,
        case_code=case.code if case is not None else None)
