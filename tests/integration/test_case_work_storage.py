"""Case work and staff storage on real databases: versions, records, scoped lists, invites, merges."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from handlers.domain.model import CaseFilter, CaseScope, NewCase
from handlers.domain.roles import Membership
from handlers.ports import ConcurrencyConflict
from storage.tables import IdentityRow, PersonRow, UnitRow

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)


async def units(uow_factory) -> dict[str, int]:
    async with uow_factory() as uow:
        rows = [UnitRow(code="w", name="Phường", kind="commune", sort_order=0)]
        uow.session.add(rows[0])
        await uow.session.flush()
        for code, kind in (("g1", "group"), ("g2", "group"), ("police", "department"), ("econ", "department")):
            row = UnitRow(code=code, name=code, kind=kind, parent_id=rows[0].id, sort_order=len(rows),
                          function="police" if code == "police" else None)
            uow.session.add(row)
            rows.append(row)
        await uow.session.flush()
        team = UnitRow(code="t1", name="Tổ hòa giải 1", kind="team", parent_id=rows[1].id, sort_order=0)
        uow.session.add(team)
        await uow.session.flush()
        ids = {row.code: row.id for row in rows + [team]}
        await uow.commit()
    return ids


async def add_case(uow_factory, group_id: int, *, urgent: bool = False, nature: str | None = None, **changes):
    async with uow_factory() as uow:
        case = await uow.cases.add(NewCase(
            kind="dispute", field="land", commune_unit_id=None, group_unit_id=group_id, address=None,
            latitude=None, longitude=None, summary="Tranh chấp", people_count=2, danger_now=False,
            urgent=urgent, urgency_reasons=[], reporter_id=None, contact_phone=None, created_at=NOW,
            code_year=2026))
        if nature or changes:
            case = await uow.casework.apply(case, {"nature": nature, **changes}, NOW)
        await uow.commit()
    return case


async def test_apply_bumps_the_version_and_refuses_a_stale_one(uow_factory):
    ids = await units(uow_factory)
    case = await add_case(uow_factory, ids["g1"])
    async with uow_factory() as uow:
        changed = await uow.casework.apply(case, {"step": 2, "status": "verifying", "nature": "civil"}, NOW)
        await uow.commit()
    assert (changed.version, changed.step, changed.nature) == (case.version + 1, 2, "civil")
    with pytest.raises(ConcurrencyConflict):
        async with uow_factory() as uow:
            await uow.casework.apply(case, {"step": 3}, NOW)  # the version seen before the change
    async with uow_factory() as uow:
        assert (await uow.casework.by_code(case.code.lower())).step == 2


async def test_records_around_a_case_and_its_facts(uow_factory):
    ids = await units(uow_factory)
    case = await add_case(uow_factory, ids["g1"])
    async with uow_factory() as uow:
        await uow.casework.add_party(case.id, name="Ông A", role="applicant", contact="0912", by=None, at=NOW)
        await uow.casework.add_party(case.id, name="Bà B", role="respondent", contact=None, by=None, at=NOW)
        await uow.cases.add_event(case.id, actor_id=None, kind="note", data={"text": "Đã gặp"}, at=NOW)
        await uow.cases.add_event(case.id, actor_id=None, kind="viewed", data={}, at=NOW)
        await uow.casework.add_session(case.id, held_on=date(2026, 11, 25), place="Nhà văn hóa",
                                       mediators="Ông C", note=None, by=None, at=NOW)
        await uow.casework.add_commitment(case.id, text="Dời hàng rào", check_on=date(2026, 12, 30), by=None, at=NOW)
        await uow.commit()
    async with uow_factory() as uow:
        facts = await uow.casework.facts(case.id)
        parties = await uow.casework.parties(case.id)
        sessions = await uow.casework.sessions(case.id)
        commitments = await uow.casework.commitments(case.id)
        events = await uow.casework.events(case.id)
        last = await uow.casework.events(case.id, limit=1)
    assert (facts.parties, facts.notes, facts.sessions, facts.commitments) == (2, 1, 1, 1)
    assert [p.name for p in parties] == ["Ông A", "Bà B"]
    assert sessions[0].held_on == date(2026, 11, 25) and commitments[0].status == "pending"
    assert [e.kind for e in events] == ["note", "viewed"] and [e.kind for e in last] == ["viewed"]


async def test_lists_respect_the_scope_and_the_filters(uow_factory):
    ids = await units(uow_factory)
    mine = await add_case(uow_factory, ids["g1"], urgent=True)
    other = await add_case(uow_factory, ids["g2"])
    crime = await add_case(uow_factory, ids["g1"], nature="crime")
    teamed = await add_case(uow_factory, ids["g2"], assigned_unit_id=ids["t1"], lead_unit_id=ids["econ"])

    async def codes(scope, wanted=CaseFilter(), offset=0, limit=10):
        async with uow_factory() as uow:
            cases, total = await uow.casework.search(scope, wanted, offset, limit)
        return [c.code for c in cases], total

    everything = CaseScope(everything=True)
    assert (await codes(everything))[1] == 4
    assert (await codes(everything))[0][0] == mine.code  # urgent first
    assert await codes(CaseScope(group_ids=frozenset({ids["g1"]}))) == ([mine.code], 1)  # never the crime case
    assert await codes(CaseScope(team_ids=frozenset({ids["t1"]}))) == ([teamed.code], 1)
    assert await codes(CaseScope(department_ids=frozenset({ids["econ"]}))) == ([teamed.code], 1)
    assert await codes(CaseScope()) == ([], 0)
    assert (await codes(everything, CaseFilter(urgent=True)))[0] == [mine.code]
    assert (await codes(everything, CaseFilter(group_unit_id=ids["g2"])))[1] == 2
    page, total = await codes(everything, offset=2, limit=2)
    assert total == 4 and len(page) == 2
    assert crime.code in (await codes(everything, CaseFilter(field="land")))[0]
    assert other.code not in (await codes(everything, CaseFilter(step=2)))[0]


async def test_memberships_contacts_and_invites(uow_factory):
    ids = await units(uow_factory)
    async with uow_factory() as uow:
        person = await uow.people.create(platform="telegram", external_id="501", display_name="Hà",
                                         language="en", consent_version="2026-11", now=NOW)
        assert await uow.staff.add_membership(person.id, ids["police"], "officer", NOW)
        assert not await uow.staff.add_membership(person.id, ids["police"], "officer", NOW)
        invite_id = await uow.staff.add_invite(code_hash="h" * 64, role="leader", unit_id=ids["g1"], person_id=None,
                                               note=None, expires_at=NOW + timedelta(days=7), now=NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.staff.memberships(person.id) == (Membership("officer", ids["police"]),)
        assert await uow.staff.holders([ids["police"]], ["officer", "head"]) == [person.id]
        (contact,) = await uow.staff.contacts([person.id])
        assert (contact.platform, contact.chat_id, contact.language) == ("telegram", "501", "en")
        assert (await uow.staff.names([person.id]))[person.id] == "Hà"
        invite = await uow.staff.invite_by_hash("h" * 64)
        assert invite.id == invite_id and invite.used_at is None
        assert await uow.staff.use_invite(invite_id, person.id, NOW)
        assert not await uow.staff.use_invite(invite_id, person.id, NOW)  # once only
        assert not await uow.staff.revoke_invite(invite_id, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.staff.invites(NOW) == []


async def test_merging_an_account_into_a_ward_file_person(uow_factory):
    ids = await units(uow_factory)
    async with uow_factory() as uow:
        resident = await uow.people.create(platform="telegram", external_id="777", display_name="Bình",
                                           language="en", consent_version="2026-11", now=NOW)
        staff = PersonRow(language="vi", created_at=NOW, ref="tran-binh", full_name="Trần Bình")
        uow.session.add(staff)
        await uow.session.flush()
        await uow.staff.add_membership(staff.id, ids["g1"], "leader", NOW, source="import")
        await uow.commit()
    case = await add_case(uow_factory, ids["g2"])
    async with uow_factory() as uow:
        await uow.casework.apply(case, {"reporter_id": resident.id}, NOW)
        await uow.staff.merge_into(resident.id, staff.id, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        person = await uow.people.by_identity("telegram", "777")
        assert person.id == staff.id and person.language == "en" and person.consent_at is not None
        assert [c.code for c in await uow.cases.for_reporter(staff.id)] == [case.code]
        assert await uow.staff.memberships(staff.id) == (Membership("leader", ids["g1"]),)
        identities = (await uow.session.scalars(select(IdentityRow.person_id))).all()
        assert identities == [staff.id]
        gone = await uow.session.get(PersonRow, resident.id)
        assert gone.deleted_at is not None
