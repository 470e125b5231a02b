"""The 5 steps by chat over a real database: every action's short form, the rights checked when
it is offered, started and written, optimistic locking, and the reporter told along the way."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from storage.demo import POLICE_CODE, WARD_CODE, department_code
from storage.tables import CaseEventRow, CasePartyRow, CaseRow, CommitmentRow, MediationSessionRow
from handlers.services import CoreConfig
from scheduler.rules import load_calendar, load_rules
from storage.demo import load_demo_ward
from tests.integration.test_conversation import CODE, Harness, consent, harness, report  # noqa: F401 (fixture)
from tests.integration.test_staff_conversation import (  # noqa: F401 (fixture)
    CODE_LEADER1, CODE_LEADER3, CODE_OFFICER, become, make_invite, ward, ward_case_id,
)

CODE_MEDIATOR3 = "MediatorInvite3"
OFFICER, LEADER, OTHER_LEADER, MEDIATOR, RESIDENT = "200", "300", "301", "400", "100"


@pytest.fixture
async def staff(ward):
    """The case of group 3, an officer, its group's leader, the other group's leader, and a
    mediator of the group's mediation team."""
    await make_invite(ward, CODE_MEDIATOR3, "mediator", f"{WARD_CODE}-tdp-3-hg")
    await become(ward, OFFICER, CODE_OFFICER)
    await become(ward, LEADER, CODE_LEADER3)
    await become(ward, OTHER_LEADER, CODE_LEADER1)
    await become(ward, MEDIATOR, CODE_MEDIATOR3)
    return ward


async def case_row(h):
    async with h.uow_factory() as uow:
        return (await uow.session.execute(select(CaseRow.__table__))).one()


async def event_kinds(h) -> list[str]:
    async with h.uow_factory() as uow:
        return list(await uow.session.scalars(select(CaseEventRow.kind).where(
            CaseEventRow.kind.not_in(["viewed", "history_viewed"])).order_by(CaseEventRow.id)))


async def open_card(h, user: str) -> None:
    await h.send(user=user, text=f"/case {h.case_code}")


async def classify(h, user=OFFICER, nature="civil") -> None:
    await open_card(h, user)
    await h.press("Classify", user)
    assert "Step 1/5: Field" in h.last(user).text and f"Case {h.case_code}" in h.last(user).text
    assert "✓ Land" in str(h.last(user).buttons)  # the current choice is marked
    await h.press("Land", user)
    await h.press(nature, user)
    await h.press("simple", user)
    await h.press("No", user)
    await h.send(user=user, text="4")


async def verify(h, user=OFFICER) -> None:
    await h.press("Add a party", user)
    await h.send(user=user, text="Nguyễn Văn A")
    await h.press("Applicant", user)
    await h.send(user=user, text="0912 345 678")
    await h.press("Add a note", user)
    await h.send(user=user, text="Both families heard; the wall stands 40 cm inside plot 12.")
    await h.press("Verification done", user)


async def choose_mediation_for_team(h, user=OFFICER) -> None:
    await h.press("Choose intervention", user)
    await h.press("Grassroots mediation", user)
    await h.press("Assign", user)
    await h.press("Tổ hòa giải TDP số 3", user)


async def test_a_case_goes_through_the_five_steps_and_back(staff):
    h = staff
    await classify(h)
    card = h.last(OFFICER)
    assert "The case is classified." in card.text and "Step 2/5" in card.text
    assert h.case_code in h.last(RESIDENT).text and "verif" in h.last(RESIDENT).text

    await verify(h)
    assert "Step 3/5" in h.last(OFFICER).text
    await choose_mediation_for_team(h)
    assert "Assigned." in h.last(OFFICER).text
    row = await case_row(h)
    assert (row.step, row.status, row.intervention, row.nature, row.people_count) == (4, "resolving", "mediation", "civil", 4)

    # The team's mediator sees the case in their list and records a session.
    await h.press("My unit's cases", MEDIATOR)
    await h.press(h.case_code, MEDIATOR)
    await h.press("Record a session", MEDIATOR)
    await h.press("Today", MEDIATOR)
    await h.send(user=MEDIATOR, text="Nhà văn hóa TDP 3")
    await h.send(user=MEDIATOR, text="Trần Thị B, Lê Văn C")
    await h.press("Skip", MEDIATOR)
    assert "Session recorded." in h.last(MEDIATOR).text

    # The group's leader records the successful outcome with its Điều 24 record, then a commitment.
    await open_card(h, LEADER)
    await h.press("Record the outcome", LEADER)
    await h.press("Successful", LEADER)
    for part in ("Ông A và ông D, tổ 3", "Tường xây lấn 40 cm", "Ông D dỡ tường", "Trong 30 ngày, tổ giám sát"):
        await h.send(user=LEADER, text=part)
    assert "Outcome recorded." in h.last(LEADER).text and "Step 5/5" in h.last(LEADER).text
    await h.press("Add a commitment", LEADER)
    await h.send(user=LEADER, text="Ông D dỡ phần tường lấn")
    await h.press("In 30 days", LEADER)

    await open_card(h, OFFICER)
    await h.press("Close", OFFICER)
    assert "The case is closed." in h.last(OFFICER).text
    await h.press("Reopen", OFFICER)
    await h.send(user=OFFICER, text="Bức tường được xây lại")
    assert "Step 2/5" in h.last(OFFICER).text

    row = await case_row(h)
    assert row.closed_at is None and row.reopen_count == 1 and row.step == 2 and row.outcome is None
    assert await event_kinds(h) == [
        "created", "classified", "party_added", "note", "verified", "intervention_chosen", "assigned",
        "session_recorded", "outcome_recorded", "commitment_added", "closed", "reopened",
    ]
    async with h.uow_factory() as uow:
        session = (await uow.session.execute(select(MediationSessionRow.__table__))).one()
        commitment = (await uow.session.execute(select(CommitmentRow.__table__))).one()
        party = (await uow.session.execute(select(CasePartyRow.__table__))).one()
        events = CaseEventRow.__table__
        reopened = (await uow.session.execute(select(events).where(events.c.kind == "reopened"))).one()
        outcome = (await uow.session.execute(select(events).where(events.c.kind == "outcome_recorded"))).one()
    assert session.held_on == date(2026, 11, 22) and session.mediators == "Trần Thị B, Lê Văn C"
    assert commitment.check_on == date(2026, 12, 22)
    assert party.contact == "0912 345 678"
    assert reopened.data["reason"] == "Bức tường được xây lại"
    assert outcome.data["mediation_record"][1]["agreement"] == "Ông D dỡ tường"

    # The resident was told each change of step in plain words, never a note or a name.
    told = [r.text for r in h.replies(RESIDENT)
            if r.text.startswith((f"News about your report {h.case_code}", f"Your report {h.case_code} has been"))]
    assert len(told) == 6  # verify, plan, resolve, monitor, closed, reopened
    assert any("may ask you whether the parties keep the agreement" in r.text for r in h.replies(RESIDENT))
    assert not any("40 cm" in text or "Nguyễn Văn A" in text or "Trần Thị B" in text for text in told)


async def test_invalid_moves_are_refused_with_the_reason(staff):
    h = staff
    await classify(h)
    await h.press("Verification done", OFFICER)
    assert "Add at least one party" in h.last(OFFICER).text
    assert (await case_row(h)).step == 2
    await verify(h)
    await h.press("Choose intervention", OFFICER)
    assert "Criminal referral" not in str(h.last(OFFICER).buttons)  # not for a civil case
    await h.press("Grassroots mediation", OFFICER)
    await h.press("Record the outcome", OFFICER)
    await h.press("Unsuccessful", OFFICER)
    assert "Record at least one mediation session" in h.last(OFFICER).text
    assert (await case_row(h)).outcome is None


async def test_bad_answers_in_a_form_are_explained(staff):
    h = staff
    await classify(h)
    await verify(h)
    await choose_mediation_for_team(h)
    await h.press("Record a session", OFFICER)
    await h.send(user=OFFICER, text="31/02/2026")
    assert "day/month/year" in h.last(OFFICER).text and "Step 1/4" in h.last(OFFICER).text
    await h.send(user=OFFICER, text="01/01/2030")
    assert "must be between" in h.last(OFFICER).text
    await h.send(user=OFFICER, text="20/11")
    assert "Step 2/4" in h.last(OFFICER).text
    await h.send(user=OFFICER, text="🙂")
    assert "Please type the text." in h.last(OFFICER).text
    await h.send(user=OFFICER, text="x" * 301)
    assert "at most 300" in h.last(OFFICER).text


async def test_a_form_on_a_case_that_changed_writes_nothing(staff):
    h = staff
    await make_invite(h, "SecondOfficer2", "officer", POLICE_CODE)
    await become(h, "201", "SecondOfficer2")
    await open_card(h, OFFICER)
    await open_card(h, "201")
    await h.press("Classify", OFFICER)
    await h.press("Take it", "201")  # the case changes while the first officer fills the form
    await h.press("Land", OFFICER)
    await h.press("administrative", OFFICER)
    await h.press("complex", OFFICER)
    await h.press("Yes", OFFICER)
    await h.press("3–5", OFFICER)
    assert "Someone else has just changed this case" in h.last(OFFICER).text
    row = await case_row(h)
    assert row.nature is None and row.step == 1


async def test_forbidden_actions_are_refused_and_logged(staff, caplog):
    h = staff
    case_id = await ward_case_id(h)
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        await h.send(user=LEADER, callback=f"k:f:classify:{case_id}:1")  # leaders do not classify
        await h.send(user=OTHER_LEADER, callback=f"k:f:note:{case_id}:1")  # another group's case
        await h.send(user=MEDIATOR, callback=f"k:f:note:{case_id}:1")  # not assigned to the team yet
        await h.send(user=RESIDENT, callback=f"k:a:close:{case_id}:1")
        await h.send(user=OFFICER, callback=f"k:f:nonsense:{case_id}:1")
    for user in (LEADER, OTHER_LEADER, MEDIATOR, RESIDENT, OFFICER):
        assert h.last(user).text.startswith("No such case"), user
    assert sum("access refused" in r.message for r in caplog.records) == 5
    assert await event_kinds(h) == ["created"]


async def test_signs_of_crime_take_the_case_away_from_non_police(staff):
    h = staff
    await open_card(h, LEADER)
    await h.press("Add a note", LEADER)  # the leader starts a note on their group's case
    await classify(h, nature="signs of crime")
    await h.send(user=LEADER, text="A note typed after the case became a police matter.")
    assert h.last(LEADER).text.startswith("No such case")
    await open_card(h, LEADER)
    assert h.last(LEADER).text.startswith("No such case")
    await h.press("My unit's cases", LEADER)
    assert h.case_code not in h.last(LEADER).text
    await verify(h)
    await h.press("Choose intervention", OFFICER)
    labels = str(h.last(OFFICER).buttons)
    assert "Criminal referral" in labels and "Grassroots mediation" not in labels
    assert await event_kinds(h) == ["created", "classified", "party_added", "note", "verified"]


async def test_history_shows_what_changed_from_and_to_and_why(staff):
    h = staff
    await classify(h)
    await verify(h)
    await h.send(user=OFFICER, text=f"/history {h.case_code}")
    text = h.last(OFFICER).text
    assert "step: 1 → 2" in text and "nature: — → civil" in text
    assert "added a note: Both families heard" in text
    assert "added a party: Nguyễn Văn A" in text and "0912" not in text  # contacts stay on the card's records
    await h.send(user=LEADER, text=f"/history {h.case_code}")
    assert h.last(LEADER).text.startswith("No such case")


@pytest.mark.parametrize("action", [a for a in ("acknowledge", "take", "classify", "note", "party", "verify",
                                                "plan", "assign", "session", "outcome", "commitment", "close",
                                                "reopen")])
async def test_every_action_forged_by_someone_without_the_right_is_refused(staff, action, caplog):
    """The resident, the other group's leader and the mediator of a team the case is not
    assigned to press a forged button for each action, both as a quick action and as a form."""
    h = staff
    case_id = await ward_case_id(h)
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        for user in (RESIDENT, OTHER_LEADER, MEDIATOR):
            for kind in ("a", "f"):
                await h.send(user=user, callback=f"k:{kind}:{action}:{case_id}:1")
                assert h.last(user).text.startswith("No such case"), (user, kind)
    assert sum("access refused" in r.message for r in caplog.records) == 6
    assert await event_kinds(h) == ["created"]
    assert await h.count("form_sessions") == 0
    assert (await case_row(h)).version == 1


async def test_cancelling_a_form_returns_to_the_case_and_writes_nothing(staff):
    h = staff
    await open_card(h, OFFICER)
    await h.press("Add a note", OFFICER)
    await h.press("Cancel", OFFICER)
    assert f"Case {h.case_code}" in h.last(OFFICER).text and "Add a note" in str(h.last(OFFICER).buttons)
    await h.press("Add a party", OFFICER)
    await h.send(user=OFFICER, text="/cancel")
    assert f"Case {h.case_code}" in h.last(OFFICER).text
    assert await event_kinds(h) == ["created"] and await h.count("form_sessions") == 0


async def test_department_members_work_on_the_cases_their_department_leads(staff):
    """A land case is led by the economic department; reclassified as family, by culture."""
    h = staff
    await make_invite(h, "EconomicMember1", "member", department_code("economic"))
    await make_invite(h, "CultureMember01", "member", department_code("culture"))
    await become(h, "500", "EconomicMember1")
    await become(h, "501", "CultureMember01")
    await h.press("My unit's cases", "500")
    await h.press(h.case_code, "500")
    card = h.last("500")
    assert "Add a note" in str(card.buttons) and "Classify" not in str(card.buttons) and "Close" not in str(card.buttons)
    await h.press("Add a note", "500")
    await h.send(user="500", text="Phòng KT-HT: the wall needs a building permit check.")
    assert "Note added." in h.last("500").text
    await open_card(h, "501")
    assert h.last("501").text.startswith("No such case")

    await open_card(h, OFFICER)
    await h.press("Classify", OFFICER)
    await h.press("Marriage & family", OFFICER)
    await h.press("civil", OFFICER)
    await h.press("simple", OFFICER)
    await h.press("No", OFFICER)
    await h.press("3–5", OFFICER)
    await open_card(h, "500")
    assert h.last("500").text.startswith("No such case")
    await open_card(h, "501")
    assert f"Case {h.case_code}" in h.last("501").text and "Phòng Văn hóa" in h.last("501").text
    await h.send(user=OFFICER, text=f"/history {h.case_code}")
    assert "lead department: Phòng Kinh tế, Hạ tầng và Đô thị → Phòng Văn hóa - Xã hội" in h.last(OFFICER).text


@pytest.fixture
async def timed(uow_factory):
    """The ward with the default deadline rules and Vietnam's calendar; officer and resident."""
    await load_demo_ward(uow_factory)
    h = Harness(uow_factory, CoreConfig(rules=load_rules(), calendar=load_calendar()))
    await make_invite(h, CODE_OFFICER, "officer", POLICE_CODE)
    await consent(h, RESIDENT)
    await report(h, RESIDENT)  # Sunday 22/11/2026 09:00 in Hanoi
    h.case_code = CODE.search(h.last(RESIDENT).text).group(0)
    await become(h, OFFICER, CODE_OFFICER)
    return h


async def pending_reminders(h) -> list[tuple[str, str, datetime]]:
    async with h.uow_factory() as uow:
        case_id = await uow.session.scalar(select(CaseRow.id))
        return [(r["kind"], r["rule_id"], r["due_at"]) for r in await uow.reminders.pending(case_id)]


async def test_each_open_step_has_a_due_time_and_a_reminder(timed):
    h = timed
    row = await case_row(h)
    # One working day to classify: Monday 23/11 at the end of office hours (17:00 in Hanoi).
    assert (row.step_rule, row.step_due_at) == ("dispute.classify", datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    assert await pending_reminders(h) == [("step_due", "dispute.classify", datetime(2026, 11, 23, 10, tzinfo=timezone.utc))]

    await classify(h)
    row = await case_row(h)
    # Five working days to verify; 24/11 is a public holiday (Ngày Văn hóa Việt Nam).
    assert (row.step_rule, row.step_due_at) == ("dispute.verify", datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc))
    assert await pending_reminders(h) == [("step_due", "dispute.verify", datetime(2026, 11, 27, 10, tzinfo=timezone.utc))]
    assert "This step is due: 30/11/2026 17:00" in h.last(OFFICER).text

    await h.send(user=OFFICER, text="/cases")
    await h.press("Overdue", OFFICER)
    assert "no cases" in h.last(OFFICER).text
    h.clock.current = datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc)
    await h.press("Overdue", OFFICER)
    assert f"⏰ {h.case_code}" in str(h.last(OFFICER).buttons)
    await h.press(h.case_code, OFFICER)
    assert "OVERDUE since 30/11/2026 17:00" in h.last(OFFICER).text

    await verify(h)
    await choose_mediation_for_team(h)
    row = await case_row(h)
    # A mediation starts within 3 days after the mediator is assigned (Luật Hòa giải ở cơ sở, Điều 20.2).
    assert row.step_rule == "dispute.resolve.mediation"
    assert row.step_due_at == datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    assert [rule for _, rule, _ in await pending_reminders(h)] == ["dispute.resolve.mediation"]


async def test_a_closed_case_has_no_deadline_and_a_reopened_one_starts_again(timed):
    h = timed
    await classify(h)
    await verify(h)
    await h.press("Choose intervention", OFFICER)
    await h.press("Transfer beyond the ward", OFFICER)
    await h.send(user=OFFICER, text="Tòa án nhân dân khu vực 1")
    row = await case_row(h)
    assert (row.step, row.step_rule) == (5, "dispute.monitor")
    # The roll-ups count an outcome by when it was recorded; a reopen clears it with the outcome.
    assert (row.outcome, row.outcome_at) == ("transferred", h.clock.current)
    await h.press("Close", OFFICER)
    row = await case_row(h)
    assert (row.step_due_at, row.step_rule) == (None, None) and await pending_reminders(h) == []
    await h.press("Reopen", OFFICER)
    await h.send(user=OFFICER, text="Lại tranh chấp")
    row = await case_row(h)
    assert row.step_rule == "dispute.verify" and [r for _, r, _ in await pending_reminders(h)] == ["dispute.verify"]
    assert (row.outcome, row.outcome_at) == (None, None)
