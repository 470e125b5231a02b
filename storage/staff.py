"""Staff: memberships (roles in units), invites, and how to reach a person by chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import Contact, Invite
from handlers.domain.roles import Membership
from storage.repositories import conflict_on_unique_violation
from storage.tables import CaseRow, FormSessionRow, IdentityRow, InviteRow, MembershipRow, PersonRow, UnitRow


class SqlStaffRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def memberships(self, person_id: int) -> tuple[Membership, ...]:
        query = (select(MembershipRow.role, MembershipRow.unit_id).where(MembershipRow.person_id == person_id)
                 .order_by(MembershipRow.id))
        return tuple(Membership(role, unit_id) for role, unit_id in await self.session.execute(query))

    async def add_membership(self, person_id: int, unit_id: int, role: str, at: datetime, source: str = "invite") -> bool:
        """False when the person already holds that role there."""
        exists = await self.session.scalar(select(MembershipRow.id).where(
            MembershipRow.person_id == person_id, MembershipRow.unit_id == unit_id, MembershipRow.role == role))
        if exists is not None:
            return False
        self.session.add(MembershipRow(person_id=person_id, unit_id=unit_id, role=role, created_at=at, source=source))
        async with conflict_on_unique_violation():
            await self.session.flush()
        return True

    async def holders(self, unit_ids: list[int], roles: list[str]) -> list[int]:
        """The people holding one of `roles` in one of `unit_ids`."""
        query = (select(MembershipRow.person_id).distinct()
                 .where(MembershipRow.unit_id.in_(unit_ids), MembershipRow.role.in_(roles)))
        return sorted(await self.session.scalars(query))

    async def holders_by_unit(self, unit_ids: list[int], roles: list[str]) -> dict[int, list[int]]:
        """The holders of `roles` in each of `unit_ids`, in one query (reminders to thousands of groups)."""
        if not unit_ids:
            return {}
        query = (select(MembershipRow.unit_id, MembershipRow.person_id).distinct()
                 .where(MembershipRow.unit_id.in_(unit_ids), MembershipRow.role.in_(roles))
                 .order_by(MembershipRow.unit_id, MembershipRow.person_id))
        found: dict[int, list[int]] = {}
        for unit_id, person_id in await self.session.execute(query):
            found.setdefault(unit_id, []).append(person_id)
        return found

    async def contacts(self, person_ids: list[int]) -> list[Contact]:
        """Every chat account of these people (the bot writes to each)."""
        if not person_ids:
            return []
        query = (select(IdentityRow.person_id, IdentityRow.platform, IdentityRow.external_id, PersonRow.language)
                 .join(PersonRow, PersonRow.id == IdentityRow.person_id)
                 .where(IdentityRow.person_id.in_(person_ids), PersonRow.deleted_at.is_(None))
                 .order_by(IdentityRow.person_id, IdentityRow.id))
        return [Contact(pid, platform, chat, lang) for pid, platform, chat, lang in await self.session.execute(query)]

    async def names(self, person_ids: list[int]) -> dict[int, str]:
        """Staff names for screens: the ward file's name, else the chat account's display name."""
        if not person_ids:
            return {}
        query = (select(PersonRow.id, PersonRow.full_name, IdentityRow.display_name)
                 .outerjoin(IdentityRow, IdentityRow.person_id == PersonRow.id)
                 .where(PersonRow.id.in_(person_ids)).order_by(IdentityRow.id))
        names: dict[int, str] = {}
        for person_id, full_name, display_name in await self.session.execute(query):
            names.setdefault(person_id, full_name or display_name or f"#{person_id}")
        return names

    # --- invites ----------------------------------------------------------------------------

    async def add_invite(self, *, code_hash: str, role: str, unit_id: int, person_id: int | None,
                         note: str | None, expires_at: datetime, now: datetime) -> int:
        row = InviteRow(code_hash=code_hash, role=role, unit_id=unit_id, person_id=person_id, note=note,
                        created_at=now, expires_at=expires_at)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def invite_by_hash(self, code_hash: str) -> Invite | None:
        row = await self.session.scalar(select(InviteRow).where(InviteRow.code_hash == code_hash))
        return _invite(row) if row else None

    async def use_invite(self, invite_id: int, person_id: int, now: datetime) -> bool:
        """Marks the invite used; False if someone used or revoked it first."""
        result = await self.session.execute(
            update(InviteRow).where(InviteRow.id == invite_id, InviteRow.used_at.is_(None),
                                    InviteRow.revoked_at.is_(None))
            .values(used_at=now, used_by=person_id)
        )
        return result.rowcount == 1

    async def revoke_invite(self, invite_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(InviteRow).where(InviteRow.id == invite_id, InviteRow.used_at.is_(None),
                                    InviteRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    async def invites(self, now: datetime) -> list[Invite]:
        """Invites still usable, newest first."""
        query = (select(InviteRow).where(InviteRow.used_at.is_(None), InviteRow.revoked_at.is_(None),
                                         InviteRow.expires_at > now)
                 .order_by(InviteRow.created_at.desc(), InviteRow.id.desc()))
        return [_invite(row) for row in await self.session.scalars(query)]

    async def invite_labels(self, invite_ids: list[int]) -> dict[int, tuple[str, str | None, str | None]]:
        """Invite id -> (unit code, person ref, note), for listing invites."""
        query = (select(InviteRow.id, UnitRow.code, PersonRow.ref, InviteRow.note)
                 .join(UnitRow, UnitRow.id == InviteRow.unit_id)
                 .outerjoin(PersonRow, PersonRow.id == InviteRow.person_id)
                 .where(InviteRow.id.in_(invite_ids)))
        return {invite_id: (code, ref, note) for invite_id, code, ref, note in await self.session.execute(query)}

    async def invite_state(self, invite_id: int) -> tuple[datetime | None, datetime | None] | None:
        """(used_at, revoked_at), or None when there is no such invite."""
        row = (await self.session.execute(select(InviteRow.used_at, InviteRow.revoked_at)
                                          .where(InviteRow.id == invite_id))).first()
        return (row.used_at, row.revoked_at) if row else None

    async def person_id_by_ref(self, ref: str) -> int | None:
        """A person of the ward file by their `ref`."""
        return await self.session.scalar(select(PersonRow.id).where(PersonRow.ref == ref, PersonRow.deleted_at.is_(None)))

    async def merge_into(self, source_id: int, target_id: int, now: datetime) -> None:
        """An account that already used the bot redeems an invite for a person of the ward file:
        its identities and reports move to that person, who takes over its consent; the
        emptied record is marked deleted."""
        if source_id == target_id:
            return
        source = await self.session.get(PersonRow, source_id)
        target = await self.session.get(PersonRow, target_id)
        assert source is not None and target is not None
        await self.session.execute(update(IdentityRow).where(IdentityRow.person_id == source_id)
                                   .values(person_id=target_id))
        await self.session.execute(update(CaseRow).where(CaseRow.reporter_id == source_id)
                                   .values(reporter_id=target_id).execution_options(synchronize_session=False))
        await self.session.execute(delete(FormSessionRow).where(FormSessionRow.person_id == source_id))
        held = {(m.unit_id, m.role) for m in await self.memberships(target_id)}
        for membership in await self.memberships(source_id):
            if (membership.unit_id, membership.role) not in held:
                await self.session.execute(update(MembershipRow).where(
                    MembershipRow.person_id == source_id, MembershipRow.unit_id == membership.unit_id,
                    MembershipRow.role == membership.role).values(person_id=target_id))
        await self.session.execute(delete(MembershipRow).where(MembershipRow.person_id == source_id))
        target.language = source.language
        target.consent_at, target.consent_version = source.consent_at, source.consent_version
        source.deleted_at = now
        await self.session.flush()

    async def link_identity(self, person_id: int, *, platform: str, external_id: str, display_name: str | None,
                            language: str, consent_version: str, now: datetime) -> None:
        """A new account (no person yet) becomes the given person of the ward file, with consent."""
        person = await self.session.get(PersonRow, person_id)
        assert person is not None
        person.language, person.consent_at, person.consent_version = language, now, consent_version
        self.session.add(IdentityRow(person_id=person_id, platform=platform, external_id=external_id,
                                     display_name=display_name, created_at=now))
        async with conflict_on_unique_violation():
            await self.session.flush()


def _invite(row: InviteRow) -> Invite:
    return Invite(id=row.id, role=row.role, unit_id=row.unit_id, person_id=row.person_id,
                  expires_at=row.expires_at, used_at=row.used_at, revoked_at=row.revoked_at)
