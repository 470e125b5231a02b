"""A person's rights over their data (export, withdraw consent, delete) and the retention of
closed cases, over an AsyncSession (Personal Data Protection Law 91/2025/QH15, Decree 356/2025).

Erasure keeps the `people` row as an empty tombstone (no name, phone, ward-file key or consent;
`deleted_at` set): the append-only case events and the cases' assignees keep pointing at an id,
and nothing left links that id to a human. Cases are kept as the law requires, without their
reporter; the sealed identities of a person's confidential tip-offs are deleted (storage/tipoffs.py).
Counts only are returned, never personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.identity_vault import SqlIdentityRepo
from storage.tables import (
    CasePartyRow,
    CaseRow,
    DutyShiftRow,
    FormSessionRow,
    IdentityRow,
    InviteRow,
    MembershipRow,
    MonthlyReportRow,
    OutboxRow,
    PersonRow,
    PrivacyRequestRow,
    TipoffRow,
    UnitRow,
)
from storage.tipoffs import SqlTipoffRepo

NO_SYNC = {"synchronize_session": False}
UNSENT = ("pending", "sending", "failed")


class SqlPrivacyRepo:
    def __init__(self, session: AsyncSession, tipoffs: SqlTipoffRepo | None = None) -> None:
        """`tipoffs` is the unit of work's (it holds the identity keys). Without it, erasing
        someone while a confidential tip-off's identity is sealed raises VaultMissing rather
        than leave that identity behind; retention needs no key."""
        self.session = session
        self.tipoffs = tipoffs if tipoffs is not None else SqlTipoffRepo(session, SqlIdentityRepo(session, None))

    # --- export ------------------------------------------------------------------------------

    async def profile(self, person_id: int) -> dict[str, Any]:
        """The person's own record: profile, accounts, roles and (a leader's) monthly updates."""
        person = await self.session.get(PersonRow, person_id)
        if person is None:
            return {}
        return {
            "profile": {"language": person.language, "consent_at": _iso(person.consent_at),
                        "consent_version": person.consent_version, "created_at": _iso(person.created_at),
                        "full_name": person.full_name, "phone": person.phone},
            "accounts": await self._accounts(person_id),
            "roles": await self._roles(person_id),
            "monthly_updates": await self._monthly(person_id),
        }

    async def _accounts(self, person_id: int) -> list[dict[str, Any]]:
        query = (select(IdentityRow.platform, IdentityRow.external_id, IdentityRow.display_name, IdentityRow.created_at)
                 .where(IdentityRow.person_id == person_id).order_by(IdentityRow.id))
        return [{"platform": platform, "id": external_id, "display_name": name, "linked_at": _iso(at)}
                for platform, external_id, name, at in await self.session.execute(query)]

    async def _roles(self, person_id: int) -> list[dict[str, Any]]:
        query = (select(MembershipRow.role, UnitRow.name, MembershipRow.created_at)
                 .join(UnitRow, UnitRow.id == MembershipRow.unit_id)
                 .where(MembershipRow.person_id == person_id).order_by(MembershipRow.id))
        return [{"role": role, "unit": unit, "since": _iso(at)} for role, unit, at in await self.session.execute(query)]

    async def _monthly(self, person_id: int) -> list[dict[str, Any]]:
        query = (select(MonthlyReportRow.period, UnitRow.name, MonthlyReportRow.nothing_new, MonthlyReportRow.counts,
                        MonthlyReportRow.submitted_at, MonthlyReportRow.late)
                 .join(UnitRow, UnitRow.id == MonthlyReportRow.group_unit_id)
                 .where(MonthlyReportRow.submitted_by == person_id)
                 .order_by(MonthlyReportRow.period, MonthlyReportRow.id))
        return [{"period": period, "group": group, "nothing_new": nothing_new, "counts": dict(counts or {}),
                 "submitted_at": _iso(at), "late": late}
                for period, group, nothing_new, counts, at, late in await self.session.execute(query)]

    # --- requests ----------------------------------------------------------------------------

    async def record(self, person_id: int | None, kind: str, *, requested_at: datetime,
                     done_at: datetime | None, detail: dict[str, int]) -> int:
        """A request and its dates; `detail` holds counts only (it is kept after erasure)."""
        statement = insert(PrivacyRequestRow).values(
            person_id=person_id, kind=kind, status="done" if done_at else "received",
            requested_at=requested_at, done_at=done_at, detail=detail,
        ).returning(PrivacyRequestRow.id)
        return (await self.session.execute(statement)).scalar_one()

    # --- erasure -----------------------------------------------------------------------------

    async def erase(self, person_id: int, now: datetime) -> dict[str, int]:
        """Remove or unlink everything that says who the person is; returns what was done, as counts.

        Afterwards their chat accounts are unknown: writing again starts with the consent notice."""
        chats = await self._chats(person_id)
        done = {"outbox_dropped": 0, "outbox_scrubbed": 0}
        for platform, chat_id in chats:
            dropped, scrubbed = await self._forget_chat(platform, chat_id)
            done["outbox_dropped"] += dropped
            done["outbox_scrubbed"] += scrubbed
        forgotten = await self.tipoffs.forget_reporter(person_id)
        done["tipoff_identities"] = forgotten.deleted
        done["tipoff_identities_skipped"] = forgotten.skipped
        done["cases_unlinked"] = await self._execute(
            update(CaseRow).where(CaseRow.reporter_id == person_id)
            .values(reporter_id=None, contact_phone=None, version=CaseRow.version + 1))
        done["form_sessions"] = await self._execute(delete(FormSessionRow).where(FormSessionRow.person_id == person_id))
        done["accounts"] = await self._execute(delete(IdentityRow).where(IdentityRow.person_id == person_id))
        done["roles"] = await self._execute(delete(MembershipRow).where(MembershipRow.person_id == person_id))
        done["duty_shifts"] = await self._execute(
            delete(DutyShiftRow).where(DutyShiftRow.person_id == person_id, DutyShiftRow.ends_at > now))
        done["invites"] = await self._execute(
            delete(InviteRow).where(InviteRow.person_id == person_id, InviteRow.used_at.is_(None)))
        await self._execute(update(InviteRow).where(InviteRow.person_id == person_id).values(note=None))
        await self._execute(
            update(PersonRow).where(PersonRow.id == person_id)
            .values(full_name=None, phone=None, ref=None, consent_at=None, consent_version=None, deleted_at=now))
        return done

    async def _chats(self, person_id: int) -> set[tuple[str, str]]:
        """The person's private chats: their accounts, and where their form was being filled in."""
        accounts = await self.session.execute(
            select(IdentityRow.platform, IdentityRow.external_id).where(IdentityRow.person_id == person_id))
        forms = await self.session.execute(
            select(FormSessionRow.platform, FormSessionRow.chat_id)
            .where(FormSessionRow.person_id == person_id, FormSessionRow.chat_id != ""))
        return {(platform, chat) for platform, chat in [*accounts, *forms]}

    async def _forget_chat(self, platform: str, chat_id: str) -> tuple[int, int]:
        """Unsent messages to the chat are dropped; sent ones lose their text and recipient."""
        mine = and_(OutboxRow.channel == platform, OutboxRow.chat_id == chat_id)
        dropped = await self._execute(delete(OutboxRow).where(mine, OutboxRow.status.in_(UNSENT)))
        scrubbed = await self._execute(update(OutboxRow).where(mine).values(chat_id=None, payload=None))
        return dropped, scrubbed

    # --- retention ---------------------------------------------------------------------------

    async def anonymise_closed(self, closed_before: datetime, limit: int) -> int:
        """Strip who and where from up to `limit` cases closed before `closed_before`, and delete
        their tip-offs' sealed identities; what the statistics count (code, field, nature, dates,
        outcome, events) stays. Cases already stripped are not selected again, so running twice
        changes nothing more."""
        party_contact = exists().where(CasePartyRow.case_id == CaseRow.id, CasePartyRow.contact.is_not(None))
        sealed_reporter = exists().where(TipoffRow.case_id == CaseRow.id, TipoffRow.identity_id.is_not(None))
        identifying = or_(CaseRow.reporter_id.is_not(None), CaseRow.contact_phone.is_not(None),
                          CaseRow.address.is_not(None), CaseRow.latitude.is_not(None),
                          CaseRow.longitude.is_not(None), party_contact, sealed_reporter)
        query = (select(CaseRow.id).where(CaseRow.closed_at.is_not(None), CaseRow.closed_at < closed_before, identifying)
                 .order_by(CaseRow.id).limit(limit))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=CaseRow)
        ids = list(await self.session.scalars(query))
        if not ids:
            return 0
        await self._execute(
            update(CaseRow).where(CaseRow.id.in_(ids))
            .values(reporter_id=None, contact_phone=None, address=None, latitude=None, longitude=None,
                    version=CaseRow.version + 1))
        await self._execute(update(CasePartyRow).where(CasePartyRow.case_id.in_(ids)).values(contact=None))
        await self.tipoffs.forget_cases(ids)
        return len(ids)

    async def _execute(self, statement: Any) -> int:
        result = await self.session.execute(statement.execution_options(**NO_SYNC))
        return int(result.rowcount or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
