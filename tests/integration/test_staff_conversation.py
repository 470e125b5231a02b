"""Staff by chat over a real database: invites, role menus, case lists and cards, quick actions,
optimistic locking, and every forbidden read refused and logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.domain.invites import hash_code
from storage.demo import POLICE_CODE, WARD_CODE
from storage.tables import CaseEventRow, CaseRow, UnitRow
from tests.integration.test_conversation import CODE, TRANSLATOR, Harness, consent, harness, report  # noqa: F401 (fixture)

CODE_OFFICER = "OfficerInvite01"
CODE_LEADER3 = "LeaderInvite303"
CODE_LEADER1 = "LeaderInvite101"


async def make_invite(h: Harness, code: str, role: str, unit_code: str, *, days: int = 7) -> None:
    async with h.uow_factory() as uow:
        unit = await uow.units.by_code(unit_code)
        await uow.staff.add_invite(code_hash=hash_code(code), role=role, unit_id=unit.id, person_id=None,
                                   note=None, expires_at=h.clock.now() + timedelta(days=days), now=h.clock.now())
        await uow.commit()


@pytest.fixture
async def ward(harness):
    """A resident (100) has reported a case in group 3; invites for an officer and two leaders."""
    await make_invite(harness, CODE_OFFICER, "officer", POLICE_CODE)
    await make_invite(harness, CODE_LEADER3, "leader", f"{WARD_CODE}-tdp-3")
    await make_invite(harness, CODE_LEADER1, "leader", f"{WARD_CODE}-tdp-1")
    await consent(harness, "100")
    await report(harness, "100")
    harness.case_code = CODE.search(harness.last("100").text).group(0)
    return harness


async def become(h: Harness, user: str, code: str) -> None:
    await consent(h, user)
    await h.send(user=user, text=f"/start {code}")


async def test_an_invite_grants_its_role_once(ward):
    await become(ward, "200", CODE_OFFICER)
    accepted = ward.last("200")
    assert "You now hold the role ward police officer in Công an phường" in accepted.text
    assert "New cases" in [c.label for row in accepted.buttons for c in row][0]

    await become(ward, "201", CODE_OFFICER)
    assert "already been used" in ward.last("201").text
    assert "New cases" not in str(ward.last("201").buttons)


async def test_an_expired_or_unknown_invite_is_refused(ward):
    await make_invite(ward, "OldInviteCode1", "officer", POLICE_CODE, days=-1)
    await become(ward, "202", "OldInviteCode1")
    assert "expired" in ward.last("202").text
    await ward.send(user="202", text="/start NoSuchInviteX")
    assert "not valid" in ward.last("202").text


async def test_a_deep_link_invite_survives_the_consent_steps(ward):
    await ward.send(user="300", text=f"/start {CODE_LEADER3}")
    await ward.press("English", "300")
    assert await ward.count("people") == 1  # nothing stored before consent
    await ward.press("I agree", "300")
    assert "neighbourhood leader in Tổ dân phố số 3" in ward.last("300").text


async def test_officer_lists_opens_and_acknowledges_a_case(ward):
    await become(ward, "200", CODE_OFFICER)
    await ward.press("New cases", "200")
    listing = ward.last("200")
    assert "1–1 of 1" in listing.text
    await ward.press(ward.case_code, "200")
    card = ward.last("200")
    assert f"Case {ward.case_code}" in card.text and "Step 1/5: Receive and classify" in card.text
    assert "The neighbours built a wall" in card.text
    await ward.press("Acknowledge", "200")
    assert "Acknowledged." in ward.last("200").text
    assert "Acknowledge" not in str(ward.last("200").buttons)

    async with ward.uow_factory() as uow:
        kinds = (await uow.session.scalars(select(CaseEventRow.kind).order_by(CaseEventRow.id))).all()
    assert kinds == ["created", "viewed", "acknowledged"]


async def test_two_officers_at_once_one_wins_the_other_sees_the_new_state(ward):
    await make_invite(ward, "SecondOfficer1", "officer", POLICE_CODE)
    await become(ward, "200", CODE_OFFICER)
    await become(ward, "201", "SecondOfficer1")
    for officer in ("200", "201"):
        await ward.press("New cases", officer)
        await ward.press(ward.case_code, officer)
    await ward.press("Take it", "200")
    assert "The case is now yours." in ward.last("200").text
    await ward.press("Take it", "201")  # drawn for the version before 200 took it
    changed = ward.last("201")
    assert "Someone else has just changed this case" in changed.text
    assert "Officer in charge: Test" in changed.text
    async with ward.uow_factory() as uow:
        assignee, acknowledged_by = (await uow.session.execute(select(CaseRow.assignee_id, CaseRow.acknowledged_by))).one()
    assert assignee is not None and acknowledged_by == assignee


async def test_leaders_see_only_their_group(ward, caplog):
    await become(ward, "300", CODE_LEADER3)
    await ward.press("My unit's cases", "300")
    await ward.press(ward.case_code, "300")
    assert f"Case {ward.case_code}" in ward.last("300").text
    assert "Take it" not in str(ward.last("300").buttons)  # leaders do not take cases

    await become(ward, "301", CODE_LEADER1)
    await ward.press("My unit's cases", "301")
    assert "no cases" in ward.last("301").text
    case_id = await ward_case_id(ward)
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        await ward.send(user="301", callback=f"k:o:{case_id}")  # a forged button for a case elsewhere
        await ward.send(user="301", text=f"/case {ward.case_code}")  # a guessed code
    assert ward.last("301").text.startswith("No such case, or you are not allowed")
    assert sum("access refused person=" in r.message for r in caplog.records) == 2


async def test_residents_and_forged_actions_are_refused(ward, caplog):
    case_id = await ward_case_id(ward)
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        await ward.send(user="100", callback=f"k:o:{case_id}")
        await ward.send(user="100", callback=f"k:a:take:{case_id}:1")
        await ward.send(user="100", text=f"/history {ward.case_code}")
    assert all(r.text.startswith("No such case") for r in ward.replies("100")[-3:])
    await become(ward, "200", CODE_OFFICER)
    await ward.send(user="200", callback=f"k:a:classify:{case_id}:1")  # a form action forged as a quick one
    await ward.send(user="200", callback="k:o:99999999")
    await ward.send(user="200", callback="k:l:everything:0")
    refused, missing, malformed = ward.replies("200")[-3:]
    assert refused.text.startswith("No such case") and missing.text.startswith("No such case")
    assert malformed.text == TRANSLATOR("form.button_unknown", "en")
    async with ward.uow_factory() as uow:
        assignee, version = (await uow.session.execute(select(CaseRow.assignee_id, CaseRow.version))).one()
    assert assignee is None and version == 1


async def test_history_is_for_police(ward):
    await become(ward, "200", CODE_OFFICER)
    await ward.send(user="200", text=f"/case {ward.case_code}")
    await ward.send(user="200", text=f"/history {ward.case_code}")
    text = ward.last("200").text
    assert text.startswith(f"History of case {ward.case_code}:")
    assert "case received" in text and "viewed the case" in text
    await become(ward, "300", CODE_LEADER3)
    await ward.send(user="300", text=f"/history {ward.case_code}")
    assert ward.last("300").text.startswith("No such case")


async def ward_case_id(h: Harness) -> int:
    async with h.uow_factory() as uow:
        return await uow.session.scalar(select(CaseRow.id))


async def test_demo_police_unit_is_a_police_department(ward):
    async with ward.uow_factory() as uow:
        function = await uow.session.scalar(select(UnitRow.function).where(UnitRow.code == POLICE_CODE))
    assert function == "police"
