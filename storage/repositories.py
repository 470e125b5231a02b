"""The ports of `handlers.ports` over an AsyncSession.

Repositories return the core's dataclasses, never ORM objects, and never commit: the unit of
work does. They flush where the core needs an id or an early error.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import Case, FormSession, NewCase, OutboxMessage, Person, Unit
from handlers.messages import FileRef, Outgoing
from handlers.ports import ConcurrencyConflict, DuplicateUpdate
from storage.tables import (
    AttachmentRow,
    CaseEventRow,
    CaseRow,
    FormSessionRow,
    IdentityRow,
    InboundUpdateRow,
    OutboxRow,
    PersonRow,
    UnitRow,
)

MAX_ERROR_CHARS = 2000
NO_SYNC = {"synchronize_session": False}

# Hot paths (every update, every sent message) use the tables directly: SQLAlchemy Core
# statements skip the ORM's bookkeeping, which the benchmark showed as most of a step's CPU.
INBOUND = InboundUpdateRow.__table__
PEOPLE = PersonRow.__table__
IDENTITIES = IdentityRow.__table__
FORMS = FormSessionRow.__table__
OUTBOX = OutboxRow.__table__

# Built once: building a statement costs more CPU than running it on SQLite.
RECORD_UPDATE = insert(INBOUND)
# The person with their open form, if any: every update needs both, so one round trip.
PERSON_BY_IDENTITY = (
    select(PEOPLE.c.id, PEOPLE.c.language, PEOPLE.c.consent_at, PEOPLE.c.consent_version,
           *(column.label(f"form_{column.name}") for column in FORMS.c))
    .join(IDENTITIES, IDENTITIES.c.person_id == PEOPLE.c.id)
    .outerjoin(FORMS, FORMS.c.person_id == PEOPLE.c.id)
    .where(IDENTITIES.c.platform == bindparam("platform"), IDENTITIES.c.external_id == bindparam("external_id"),
           PEOPLE.c.deleted_at.is_(None))
)
FORM_OF_PERSON = select(FORMS).where(FORMS.c.person_id == bindparam("wanted_person_id"))
FORM_UPDATE = (
    update(FORMS)
    .where(FORMS.c.id == bindparam("wanted_id"), FORMS.c.version == bindparam("wanted_version"))
)
OUTBOX_INSERT = insert(OUTBOX).returning(OUTBOX.c.id)


def is_duplicate_update(error: IntegrityError) -> bool:
    """Whether `error` is the inbound_updates primary key (a twin update won the race)."""
    return is_unique_violation(error) and "inbound_updates" in str(error.orig)


def is_unique_violation(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error.orig)


@asynccontextmanager
async def conflict_on_unique_violation() -> AsyncIterator[None]:
    """A unique row inserted concurrently by someone else: retry with fresh state."""
    try:
        yield
    except IntegrityError as error:
        if is_unique_violation(error):
            raise ConcurrencyConflict(str(error.orig)) from error
        raise


class SqlInboundRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, platform: str, bot_id: str, update_id: str) -> bool:
        query = select(exists().where(
            InboundUpdateRow.platform == platform,
            InboundUpdateRow.bot_id == bot_id,
            InboundUpdateRow.update_id == update_id,
        ))
        return bool(await self.session.scalar(query))

    async def record(self, platform: str, bot_id: str, update_id: str, at: datetime) -> None:
        """Insert and flush now, so a twin fails before any other effect is written."""
        params = {"platform": platform, "bot_id": bot_id, "update_id": update_id, "received_at": at}
        try:
            await self.session.execute(RECORD_UPDATE, params)
        except IntegrityError as error:
            if is_duplicate_update(error):
                raise DuplicateUpdate(f"{platform}/{bot_id}/{update_id}") from error
            raise

    async def prune(self, before: datetime) -> int:
        """Forget update ids older than any platform re-delivers (Telegram keeps 24 hours)."""
        result = await self.session.execute(delete(InboundUpdateRow).where(InboundUpdateRow.received_at < before))
        return result.rowcount or 0


class SqlPeopleRepo:
    def __init__(self, session: AsyncSession, prefetched_forms: dict[int, FormSession | None] | None = None) -> None:
        self.session = session
        self.prefetched_forms = {} if prefetched_forms is None else prefetched_forms

    async def by_identity(self, platform: str, external_id: str) -> Person | None:
        params = {"platform": platform, "external_id": external_id}
        row = (await self.session.execute(PERSON_BY_IDENTITY, params)).first()
        if row is None:
            return None
        self.prefetched_forms[row.id] = _form(_Prefixed(row, "form_")) if row.form_id is not None else None
        return _person(row)

    async def create(
        self, *, platform: str, external_id: str, display_name: str | None,
        language: str, consent_version: str, now: datetime,
    ) -> Person:
        person = PersonRow(language=language, consent_at=now, consent_version=consent_version, created_at=now)
        self.session.add(person)
        async with conflict_on_unique_violation():
            await self.session.flush()
            self.session.add(IdentityRow(person_id=person.id, platform=platform, external_id=external_id,
                                         display_name=display_name, created_at=now))
            await self.session.flush()
        return _person(person)

    async def set_language(self, person_id: int, language: str) -> None:
        await self.session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(language=language).execution_options(**NO_SYNC)
        )


class SqlUnitRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ward(self, code: str | None) -> Unit | None:
        query = select(UnitRow).where(UnitRow.kind == "commune")
        if code is not None:
            query = query.where(UnitRow.code == code)
        row = await self.session.scalar(query.order_by(UnitRow.sort_order, UnitRow.id).limit(1))
        return _unit(row) if row else None

    async def wards(self) -> list[Unit]:
        """Every commune/ward unit (a province-wide deployment holds many)."""
        rows = await self.session.scalars(select(UnitRow).where(UnitRow.kind == "commune")
                                          .order_by(UnitRow.sort_order, UnitRow.id))
        return [_unit(row) for row in rows]

    async def groups(self, ward_id: int) -> list[Unit]:
        query = (
            select(UnitRow)
            .where(UnitRow.parent_id == ward_id, UnitRow.kind == "group")
            .order_by(UnitRow.sort_order, UnitRow.id)
        )
        return [_unit(row) for row in await self.session.scalars(query)]

    async def departments(self, ward_id: int) -> list[Unit]:
        """The ward's departments, in the ward file's order."""
        return await self.of_kind(ward_id, "department")

    async def get(self, unit_id: int) -> Unit | None:
        row = await self.session.get(UnitRow, unit_id)
        return _unit(row) if row else None

    async def by_code(self, code: str) -> Unit | None:
        row = await self.session.scalar(select(UnitRow).where(UnitRow.code == code))
        return _unit(row) if row else None

    async def of_kind(self, ward_id: int, kind: str) -> list[Unit]:
        """The ward's departments or groups (its children), or its teams (children of its groups)."""
        query = select(UnitRow).where(UnitRow.kind == kind)
        if kind == "team":
            groups = select(UnitRow.id).where(UnitRow.parent_id == ward_id, UnitRow.kind == "group")
            query = query.where(UnitRow.parent_id.in_(groups))
        else:
            query = query.where(UnitRow.parent_id == ward_id)
        return [_unit(row) for row in await self.session.scalars(query.order_by(UnitRow.sort_order, UnitRow.id))]


class SqlFormRepo:
    def __init__(self, session: AsyncSession, prefetched: dict[int, FormSession | None] | None = None) -> None:
        self.session = session
        self.prefetched = {} if prefetched is None else prefetched  # filled by people.by_identity

    async def active(self, person_id: int) -> FormSession | None:
        """The person's form, expired or not: the caller tells the user it expired."""
        if person_id in self.prefetched:
            return self.prefetched.pop(person_id)
        row = (await self.session.execute(FORM_OF_PERSON, {"wanted_person_id": person_id})).first()
        return _form(row) if row else None

    async def save(self, session: FormSession) -> FormSession:
        """Insert (id None) or update if nobody saved since we loaded.

        Sets the new id and version on `session` too and returns it, so a caller that
        ignores the result can still save the same object again in this transaction.
        """
        values = {
            "person_id": session.person_id, "form": session.form, "step": session.step,
            "answers": session.answers, "platform": session.platform, "chat_id": session.chat_id,
            "expires_at": session.expires_at, "created_at": session.created_at, "updated_at": session.updated_at,
            "reminded_at": None,  # the person came back: if they leave again, one more reminder
        }
        self.prefetched.pop(session.person_id, None)
        if session.id is None:
            statement = insert(FORMS).values(**values, version=session.version).returning(FORMS.c.id)
            async with conflict_on_unique_violation():  # another update opened a form first
                session.id = (await self.session.execute(statement)).scalar_one()
            return session
        params = {**values, "version": session.version + 1, "wanted_id": session.id, "wanted_version": session.version}
        result = await self.session.execute(FORM_UPDATE, params)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflict(f"form session {session.id} changed (version {session.version})")
        session.version += 1
        return session

    async def delete(self, session_id: int) -> None:
        self.prefetched.clear()
        await self.session.execute(
            delete(FormSessionRow).where(FormSessionRow.id == session_id).execution_options(**NO_SYNC)
        )

    async def due_for_reminder(self, now: datetime, before: timedelta, limit: int) -> list[FormSession]:
        """Forms that expire within `before` and were not reminded, soonest first, locked until
        the caller's transaction ends (another worker's sweep skips them on PostgreSQL)."""
        query = (select(FORMS).where(FORMS.c.reminded_at.is_(None), FORMS.c.expires_at > now,
                                     FORMS.c.expires_at <= now + before)
                 .order_by(FORMS.c.expires_at, FORMS.c.id).limit(limit))
        if self._dialect() == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_form(row) for row in await self.session.execute(query)]

    async def mark_reminded(self, session_id: int, now: datetime, expires_at: datetime) -> None:
        """The one reminder is sent; the form may be kept longer so the person can still finish it.
        The version is left alone: the person's own next answer must not conflict with this."""
        await self.session.execute(
            update(FORMS).where(FORMS.c.id == session_id)
            .values(reminded_at=now, expires_at=expires_at).execution_options(**NO_SYNC))

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def purge_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(FormSessionRow).where(FormSessionRow.expires_at <= now).execution_options(**NO_SYNC)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlCaseRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, new: NewCase) -> Case:
        """Insert with a unique placeholder code, then set the real one from the new id."""
        row = CaseRow(
            code=f"tmp-{uuid.uuid4().hex}", kind=new.kind, field=new.field, urgent=new.urgent,
            urgency_reasons=list(new.urgency_reasons), danger_now=new.danger_now, people_count=new.people_count,
            step=new.step, status=new.status, commune_unit_id=new.commune_unit_id, group_unit_id=new.group_unit_id,
            address=new.address, latitude=new.latitude, longitude=new.longitude, summary=new.summary,
            reporter_id=new.reporter_id, contact_phone=new.contact_phone, channel=new.channel,
            lead_unit_id=new.lead_unit_id, created_at=new.created_at, updated_at=new.created_at,
            nature=new.nature, confidential=new.confidential, step_started_at=new.step_started_at, step_due_at=new.step_due_at, step_rule=new.step_rule,
        )
        self.session.add(row)
        await self.session.flush()
        # A bulk UPDATE leaves the ORM version alone: a new case starts at version 1.
        await self.session.execute(
            update(CaseRow).where(CaseRow.id == row.id)
            .values(code=f"HG-{new.code_year}-{row.id:06d}").execution_options(synchronize_session="evaluate")
        )
        return case_from_row(row)

    async def for_reporter(self, person_id: int, limit: int = 20) -> list[Case]:
        query = (
            select(CaseRow).where(CaseRow.reporter_id == person_id)
            .order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(limit)
        )
        return [case_from_row(row) for row in await self.session.scalars(query)]

    async def add_event(
        self, case_id: int, *, actor_id: int | None, kind: str, data: dict[str, Any], at: datetime,
    ) -> None:
        self.session.add(CaseEventRow(case_id=case_id, actor_id=actor_id, kind=kind, data=data, at=at))

    async def add_events(self, events: list[dict[str, Any]]) -> None:
        """Many events (case_id, actor_id, kind, data, at) in one statement: a sweep's batch."""
        if events:
            await self.session.execute(insert(CaseEventRow.__table__), events)

    async def add_attachment(self, case_id: int, platform: str, file: FileRef, at: datetime) -> None:
        self.session.add(AttachmentRow(
            case_id=case_id, platform=platform, kind=file.kind, file_id=file.file_id, sha256=file.sha256,
            size=file.size, mime_type=file.mime_type, file_name=file.file_name, created_at=at,
        ))

    async def attached_file_ids(self, file_ids: list[str]) -> set[str]:
        """Which of these file ids some case keeps as an attachment."""
        if not file_ids:
            return set()
        return set(await self.session.scalars(
            select(AttachmentRow.file_id).where(AttachmentRow.file_id.in_(file_ids)).distinct()))


@dataclass(frozen=True)
class FailedRecipient:
    """A chat the outbox gave up on (the user blocked the bot, the chat is gone)."""

    channel: str
    chat_id: str
    failures: int
    last_failed_at: datetime
    last_error: str
    last_message_id: int


class SqlOutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def add_many(self, messages: list[Outgoing], now: datetime) -> None:
        """Store unleased messages in one statement (a sweep's batch); a dedupe key already
        stored is skipped, as in `add`."""
        if not messages:
            return
        rows = [_outbox_values(message, now) for message in messages]
        dialect_insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        statement = dialect_insert(OutboxRow).on_conflict_do_nothing(index_elements=[OutboxRow.dedupe_key])
        await self.session.execute(statement, rows)

    async def add(self, message: Outgoing, now: datetime, lease_seconds: int | None = None,
                  owner: str | None = None) -> int:
        """One row per message; a repeated dedupe_key returns the existing row's id. With
        `lease_seconds` (no dedupe key) the row is stored already claimed by `owner`, unless
        it must wait (`not_before` later than now, quiet hours): that one waits for the sweep."""
        leased = lease_seconds is not None and message.dedupe_key is None and not message.held_at(now)
        values = {
            "channel": message.channel, "chat_id": message.chat_id, "payload": message.reply.to_payload(),
            "dedupe_key": message.dedupe_key, "status": "sending" if leased else "pending",
            "attempts": 1 if leased else 0, "next_attempt_at": message.due_at(now),
            "lease_until": now + timedelta(seconds=lease_seconds) if leased else None,
            "lease_owner": owner if leased else None,
            "ephemeral": message.ephemeral, "urgent": message.urgent, "extra": dict(message.extra),
            "created_at": now,
        }
        if message.dedupe_key is None:
            return (await self.session.execute(OUTBOX_INSERT, values)).scalar_one()
        dialect_insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        statement = (
            dialect_insert(OutboxRow).values(**values)
            .on_conflict_do_nothing(index_elements=[OutboxRow.dedupe_key])
            .returning(OutboxRow.id)
        )
        new_id = (await self.session.execute(statement)).scalar_one_or_none()
        if new_id is not None:
            return new_id
        existing = select(OutboxRow.id).where(OutboxRow.dedupe_key == message.dedupe_key)
        return (await self.session.execute(existing)).scalar_one()

    async def claim_due(self, channels: list[str], now: datetime, limit: int, lease_seconds: int,
                        owner: str | None = None) -> list[OutboxMessage]:
        """Lease due rows (and rows of a sender whose lease ran out), in id order.

        PostgreSQL skips rows another worker has locked; on SQLite BEGIN IMMEDIATE makes the
        whole transaction exclusive, so the plain statement is enough.
        """
        if not channels or limit <= 0:
            return []
        due = (
            select(OutboxRow.id)
            .where(
                OutboxRow.channel.in_(channels),
                or_(
                    (OutboxRow.status == "pending") & (OutboxRow.next_attempt_at <= now),
                    (OutboxRow.status == "sending") & (OutboxRow.lease_until < now),
                ),
            )
            .order_by(OutboxRow.urgent.desc(), OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(OutboxRow)
            .where(OutboxRow.id.in_(due.scalar_subquery()))
            .values(status="sending", lease_until=now + timedelta(seconds=lease_seconds),
                    lease_owner=owner, attempts=OutboxRow.attempts + 1)
            .returning(*_OUTBOX_COLUMNS)
            .execution_options(**NO_SYNC)
        )
        rows = (await self.session.execute(statement)).all()
        return sorted((_outbox(row) for row in rows), key=lambda message: message.id)

    async def release_leases(self, owner: str, now: datetime) -> int:
        """Make the rows `owner` held when it stopped due now. Called by a worker as it starts,
        before it takes any update: what it held then was cut off by a crash or a kill, and
        need not wait for the lease to run out."""
        result = await self.session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.status == "sending", OUTBOX.c.lease_owner == owner)
            .values(status="pending", next_attempt_at=now, lease_until=None, lease_owner=None)
        )
        return result.rowcount or 0

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        await self.mark_sent_many([message_id], now)

    async def mark_sent_many(self, message_ids: list[int], now: datetime) -> None:
        """Sent rows, in two statements whatever their number; pre-consent payloads are scrubbed."""
        if not message_ids:
            return
        await self.session.execute(
            update(OUTBOX).where(OUTBOX.c.id.in_(message_ids)).values(status="sent", sent_at=now, lease_until=None, lease_owner=None)
        )
        await self._scrub_ephemeral(message_ids)

    async def mark_retry(self, message_id: int, error: str, next_attempt_at: datetime) -> None:
        await self._set(message_id, status="pending", next_attempt_at=next_attempt_at, lease_until=None,
                        lease_owner=None, last_error=error[:MAX_ERROR_CHARS])

    async def wake(self, channel: str, chat_id: str, now: datetime) -> int:
        """Make a chat's waiting rows due now (its client just connected)."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.channel == channel, OutboxRow.chat_id == chat_id,
                   OutboxRow.status == "pending", OutboxRow.next_attempt_at > now)
            .values(next_attempt_at=now)
            .execution_options(**NO_SYNC)
        )
        return result.rowcount or 0

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> None:
        """Given up: the row stays for inspection, but a pre-consent message is scrubbed too.
        A failed row's next_attempt_at is when it was given up."""
        await self._set(message_id, status="failed", lease_until=None, lease_owner=None, next_attempt_at=now,
                        last_error=error[:MAX_ERROR_CHARS])
        await self._scrub_ephemeral([message_id])

    async def failed_recipients(self, since: datetime) -> list[FailedRecipient]:
        """Chats with messages given up on at or after `since`, the latest first (for officers).
        Scrubbed pre-consent rows have no chat and are left out."""
        rows = await self.session.execute(
            select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.chat_id, OUTBOX.c.last_error, OUTBOX.c.next_attempt_at)
            .where(OUTBOX.c.status == "failed", OUTBOX.c.next_attempt_at >= since, OUTBOX.c.chat_id.is_not(None))
            .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        )
        chats: dict[tuple[str, str], FailedRecipient] = {}
        for id_, channel, chat_id, error, failed_at in rows:
            earlier = chats.get((channel, chat_id))
            chats[(channel, chat_id)] = FailedRecipient(
                channel, chat_id, (earlier.failures if earlier else 0) + 1, failed_at, error or "", id_)
        return sorted(chats.values(), key=lambda chat: (chat.last_failed_at, chat.last_message_id), reverse=True)

    async def _set(self, message_id: int, **values: Any) -> None:
        await self.session.execute(
            update(OutboxRow).where(OutboxRow.id == message_id).values(**values).execution_options(**NO_SYNC)
        )

    async def _scrub_ephemeral(self, message_ids: list[int]) -> None:
        """Privacy: pre-consent messages are not kept once they left (or were given up)."""
        await self.session.execute(
            update(OUTBOX).where(OUTBOX.c.id.in_(message_ids), OUTBOX.c.ephemeral.is_(True))
            .values(chat_id=None, payload=None)
        )


# --- rows to dataclasses --------------------------------------------------------------------

def _outbox_values(message: Outgoing, now: datetime) -> dict[str, Any]:
    """The columns of a pending (unleased) outbox row."""
    return {
        "channel": message.channel, "chat_id": message.chat_id, "payload": message.reply.to_payload(),
        "dedupe_key": message.dedupe_key, "status": "pending", "attempts": 0, "next_attempt_at": message.due_at(now),
        "lease_until": None, "lease_owner": None, "ephemeral": message.ephemeral, "urgent": message.urgent,
        "extra": dict(message.extra), "created_at": now, "last_error": None, "sent_at": None,
    }


_OUTBOX_COLUMNS = (
    OutboxRow.id, OutboxRow.channel, OutboxRow.chat_id, OutboxRow.payload, OutboxRow.dedupe_key,
    OutboxRow.attempts, OutboxRow.ephemeral, OutboxRow.urgent, OutboxRow.extra,
)


def _person(row: Any) -> Person:
    return Person(id=row.id, language=row.language, consent_at=row.consent_at, consent_version=row.consent_version)


def _unit(row: UnitRow) -> Unit:
    return Unit(id=row.id, code=row.code, name=row.name, kind=row.kind, parent_id=row.parent_id,
                function=row.function, settings=dict(row.settings or {}))


class _Prefixed:
    """Reads `row.<prefix><name>` as `.name`: a form's columns inside a joined row."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def _form(row: Any) -> FormSession:
    return FormSession(
        id=row.id, person_id=row.person_id, form=row.form, step=row.step, answers=dict(row.answers),
        expires_at=row.expires_at, created_at=row.created_at, updated_at=row.updated_at,
        version=row.version, platform=row.platform, chat_id=row.chat_id,
    )


CASE_FIELDS = (
    "id", "code", "kind", "field", "status", "step", "urgent", "summary", "group_unit_id", "reporter_id",
    "created_at", "updated_at", "version", "nature", "complexity", "people_count", "danger_now",
    "commune_unit_id", "address", "lead_unit_id", "assignee_id", "assigned_unit_id", "intervention",
    "transfer_to", "outcome", "mediation_record", "acknowledged_at", "acknowledged_by", "closed_at",
    "reopen_count", "channel", "step_started_at", "step_due_at", "step_rule",
)


def case_from_row(row: Any) -> Case:
    """A case from an ORM row or a Core row of the cases table."""
    values = {name: getattr(row, name) for name in CASE_FIELDS}
    return Case(**values, urgency_reasons=tuple(row.urgency_reasons or ()))


def _outbox(row: Sequence[Any]) -> OutboxMessage:
    id_, channel, chat_id, payload, dedupe_key, attempts, ephemeral, urgent, extra = row
    return OutboxMessage(
        id=id_, channel=channel, chat_id=chat_id or "", payload=payload or {}, dedupe_key=dedupe_key,
        attempts=attempts, ephemeral=ephemeral, urgent=urgent, extra=dict(extra or {}),
    )
