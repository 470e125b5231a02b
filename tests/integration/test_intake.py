"""Intake over a real database: routing at creation, new cases pushed to the ward police,
residents told of their case in plain words, a leader's report for their group, the demo ward."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select, text, update

from handlers import intake, notify
from handlers.domain import workflow as wf
from handlers.messages import Inbound, UserRef
from handlers.services import Conversation, CoreConfig
from storage.demo import POLICE_CODE, WARD_CODE, department_code, load_demo_ward
from storage.tables import CaseEventRow, CaseRow, IdentityRow, OutboxRow, UnitRow
from tests.integration.test_conversation import CODE, TRANSLATOR, Harness, consent, harness  # noqa: F401 (fixture)
from tests.integration.test_conversation import report as resident_report
from tests.integration.test_staff_conversation import become, make_invite

PHONE = "0912345678"
REPORTER_NAME = "Nguyễn Văn Người Báo"


async def report(h: Harness, user: str = "100", *, field: str = "Land", group: str = "Tổ dân phố số 3",
                 description: str = "The neighbours built a wall on our land last week.",
                 phone: str | None = None) -> str:
    """A full resident report; the case code."""
    await resident_report(h, user, description, field=field, group=group, phone=phone)
    return CODE.search(h.last(user).text).group(0)


async def consent_named(h: Harness, user: str, name: str) -> None:
    """Consent with a display name of our own (the harness names everyone "Test")."""
    await h.send(user=user, text="/start")
    await h.press("English", user)
    data = next(c.data for c in h.last(user).buttons[0] if c.label == "I agree")
    await h.deliver(Inbound(platform="telegram", bot_id="1", update_id=str(next(h.ids)),
                            user=UserRef("telegram", user, name, "en"), chat_id=user, callback=data))


async def officers(h: Harness, *users: str) -> None:
    for number, user in enumerate(users):
        await make_invite(h, f"OfficerInvite{number:02d}", "officer", POLICE_CODE)
        await become(h, user, f"OfficerInvite{number:02d}")


async def one(h: Harness, query):
    async with h.uow_factory() as uow:
        return (await uow.session.execute(query)).one()


async def person_of(h: Harness, user: str) -> int:
    (person_id,) = await one(h, select(IdentityRow.person_id).where(IdentityRow.external_id == user))
    return person_id


async def unit_id(h: Harness, code: str) -> int:
    (id_,) = await one(h, select(UnitRow.id).where(UnitRow.code == code))
    return id_


def buttons(reply) -> dict[str, str]:
    return {choice.label: choice.data for row in reply.buttons for choice in row}


# --- routing at creation --------------------------------------------------------------------

async def test_a_new_case_is_led_by_the_department_of_its_field(harness):
    await consent(harness)
    await report(harness, field="Land")
    await report(harness, field="Neighbours")
    async with harness.uow_factory() as uow:
        leads = (await uow.session.execute(select(CaseRow.field, CaseRow.lead_unit_id).order_by(CaseRow.id))).all()
    assert leads == [("land", await unit_id(harness, department_code("economic"))),
                     ("public_order", await unit_id(harness, POLICE_CODE))]


async def test_the_ward_files_override_wins(harness):
    async with harness.uow_factory() as uow:
        await uow.session.execute(update(UnitRow).where(UnitRow.code == WARD_CODE)
                                  .values(settings={"routing": {"land": department_code("office")}}))
        await uow.commit()
    await consent(harness)
    await report(harness, field="Land")
    (lead,) = await one(harness, select(CaseRow.lead_unit_id))
    assert lead == await unit_id(harness, department_code("office"))


async def test_lead_unit_for_a_changed_field(harness):
    culture, police, ward = [await unit_id(harness, code) for code in (department_code("culture"), POLICE_CODE, WARD_CODE)]
    async with harness.uow_factory() as uow:  # one at a time on SQLite: no other unit of work inside
        conv = conversation(uow, harness)
        assert await intake.lead_unit_for(conv, "family") == culture
        assert await intake.lead_unit_for(conv, "civil", ward) == police


# --- new cases pushed to the ward police ----------------------------------------------------

async def test_a_new_case_reaches_every_officer_with_its_buttons(harness):
    await officers(harness, "200", "201")
    await consent(harness)
    code = await report(harness)
    case_id, version = await one(harness, select(CaseRow.id, CaseRow.version))
    for officer in ("200", "201"):
        pushed = harness.last(officer)
        assert f"New case {code}" in pushed.text and "Field: Land" in pushed.text
        assert "Tổ dân phố số 3" in pushed.text and "Phòng Kinh tế, Hạ tầng và Đô thị" in pushed.text
        assert "The neighbours built a wall" in pushed.text and "URGENT" not in pushed.text
        assert buttons(pushed) == {"✅ Acknowledge": f"k:a:acknowledge:{case_id}:{version}",
                                   "🙋 Take it": f"k:a:take:{case_id}:{version}",
                                   "📄 Open the case": f"k:o:{case_id}"}
    async with harness.uow_factory() as uow:
        keys = set(await uow.session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.dedupe_key.like("newcase:%"))))
    assert keys == {f"newcase:{case_id}:{await person_of(harness, u)}:telegram" for u in ("200", "201")}

    await harness.press("Acknowledge", "200")
    assert "Acknowledged." in harness.last("200").text
    (acknowledged_by,) = await one(harness, select(CaseRow.acknowledged_by))
    assert acknowledged_by == await person_of(harness, "200")


async def test_officers_are_told_in_their_own_language(harness):
    await make_invite(harness, "OfficerInviteVi", "officer", POLICE_CODE)
    await harness.send(user="202", text="/start")
    await harness.press("Tiếng Việt", "202")
    await harness.press("Đồng ý", "202")
    await harness.send(user="202", text="/start OfficerInviteVi")
    await consent(harness)
    code = await report(harness)
    pushed = harness.last("202")
    assert f"Vụ việc mới {code}" in pushed.text and "Lĩnh vực: Đất đai" in pushed.text
    assert "✅ Đã nắm" in buttons(pushed)


async def test_an_urgent_case_says_so_first_and_never_shows_the_reporters_contact(uow_factory):
    await load_demo_ward(uow_factory)
    h = Harness(uow_factory, CoreConfig(alert_chat_id="-999"))
    await officers(h, "200")
    await consent_named(h, "100", REPORTER_NAME)
    await report(h, field="Neighbours", group="Tổ dân phố số 2",
                 description="Hai nhóm thanh niên cầm dao đánh nhau trước ngõ", phone=PHONE)
    pushed = h.last("200")
    assert pushed.text.startswith("🚨 URGENT: weapon") and "cầm dao" in pushed.text
    async with h.uow_factory() as uow:
        rows = (await uow.session.execute(select(OutboxRow.dedupe_key, OutboxRow.urgent)
                                          .where(OutboxRow.dedupe_key.like("newcase:%")))).all()
    assert len(rows) == 1 and rows[0].urgent
    assert "cầm dao" in h.last("-999").text  # the alert to the officers' chat is still sent
    for chat_id, reply in h.telegram.sent:
        if chat_id != "100":
            assert PHONE not in reply.text and "+84912345678" not in reply.text and "Người Báo" not in reply.text


async def test_nobody_but_the_police_is_told_of_a_new_case(harness):
    await make_invite(harness, "HeadInvite0001", "head", POLICE_CODE)
    await become(harness, "201", "HeadInvite0001")
    await officers(harness, "200")
    staff = {"300": ("leader", f"{WARD_CODE}-tdp-2"), "400": ("member", department_code("economic")),
             "500": ("mediator", f"{WARD_CODE}-tdp-2-hg"), "600": ("admin", WARD_CODE)}
    for user, (role, unit) in staff.items():
        await make_invite(harness, f"StaffInvite{user}", role, unit)
        await become(harness, user, f"StaffInvite{user}")
    seen = {user: len(harness.replies(user)) for user in staff}
    await consent(harness)
    crime = await report(harness, field="Neighbours", group="Tổ dân phố số 2",
                         description="Hai nhóm thanh niên cầm dao đánh nhau trước ngõ")
    land = await report(harness, field="Land", group="Tổ dân phố số 2")
    for officer in ("200", "201"):
        texts = [r.text for r in harness.replies(officer)[-2:]]
        assert crime in texts[0] and land in texts[1]
    assert {user: len(harness.replies(user)) for user in staff} == seen
    async with harness.uow_factory() as uow:
        chats = set(await uow.session.scalars(select(OutboxRow.chat_id).where(OutboxRow.dedupe_key.like("newcase:%"))))
    assert chats == {"200", "201"}


# --- the resident told in plain words -------------------------------------------------------

def conversation(uow, h: Harness) -> Conversation:
    inbound = Inbound(platform="telegram", bot_id="1", update_id="x", user=UserRef("telegram", "900"), chat_id="900")
    return Conversation(inbound, uow, TRANSLATOR, h.clock.now(), CoreConfig(), None, "vi")


async def test_the_reporter_is_told_when_the_step_changes_and_only_then(harness):
    await consent(harness)
    code = await report(harness)
    reporter = await person_of(harness, "100")
    now = harness.clock.now()
    async with harness.uow_factory() as uow:
        conv = conversation(uow, harness)
        case = await uow.casework.get(await uow.session.scalar(select(CaseRow.id)))
        taken = await uow.casework.apply(case, wf.take(case, reporter, now).values, now)
        assert await notify.case_changed(conv, case, taken) == []  # only the assignee changed

        change = wf.classify(taken, field_="land", nature="civil", complexity="simple", urgent=False, people_count=3)
        verifying = await uow.casework.apply(taken, change.values, now)
        await uow.cases.add_event(case.id, actor_id=reporter, kind="note", data={"text": "SECRET internal note"}, at=now)
        messages = await notify.case_changed(conv, taken, verifying)
        assert len(messages) == 1
        (message,) = messages
        assert (message.channel, message.chat_id) == ("telegram", "100")
        assert message.dedupe_key == f"notify:{case.id}:v{verifying.version}:telegram"
        assert await notify.case_changed(conv, taken, replace(verifying, reporter_id=None)) == []
        for outgoing in messages + await notify.case_changed(conv, taken, verifying):  # twice: one row
            await uow.outbox.add(outgoing, now)
        await uow.commit()
    while await harness.sender.drain_once():
        pass
    told = harness.last("100").text
    assert code in told and TRANSLATOR("notify.status.verifying", "en") in told
    assert "hearing the people involved" in told and "SECRET" not in told and "Test" not in told
    assert await harness.count("outbox where dedupe_key like 'notify:%'") == 1


async def test_closing_and_reopening_are_told_too(harness):
    await consent(harness)
    await report(harness)
    async with harness.uow_factory() as uow:
        conv = conversation(uow, harness)
        case = await uow.casework.get(await uow.session.scalar(select(CaseRow.id)))
        monitoring = replace(case, step=5, status="monitoring", version=5)
        closed = replace(monitoring, status="closed", closed_at=harness.clock.now(), version=6)
        reopened = replace(closed, step=2, status="verifying", closed_at=None, reopen_count=1, version=7)
        (told_closed,) = await notify.case_changed(conv, monitoring, closed)
        (told_reopened,) = await notify.case_changed(conv, closed, reopened)
    assert TRANSLATOR("notify.status.closed", "en") in told_closed.reply.text
    assert "reopened" in told_reopened.reply.text and told_reopened.dedupe_key.endswith(":v7:telegram")


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_status_uses_the_same_plain_words_for_every_state(harness, lang):
    await consent(harness)
    code = await report(harness)
    if lang == "vi":
        await harness.send(text="/language")
        await harness.press("Tiếng Việt")
    states = [(step, status, False) for step, status in wf.STEP_STATUS.items()] + [(5, "closed", True)]
    for step, status, closed in states:
        async with harness.uow_factory() as uow:
            await uow.session.execute(update(CaseRow).values(
                step=step, status=status, closed_at=harness.clock.now() if closed else None))
            await uow.commit()
        await harness.send(text="/status")
        shown = harness.last().text
        assert code in shown and TRANSLATOR(f"notify.status.{status}", lang) in shown, shown


# --- a leader reports for residents of their group ------------------------------------------

async def test_a_leader_reports_for_residents_of_their_group(harness):
    await make_invite(harness, "LeaderInvite303", "leader", f"{WARD_CODE}-tdp-3")
    await become(harness, "300", "LeaderInvite303")
    assert "📝 Report for my group" in buttons(harness.last("300"))
    await harness.press("Report for my group", "300")
    assert "Step 1/8" in harness.last("300").text and "Who are you reporting for?" in harness.last("300").text
    await harness.send(user="300", text="Mr An and Mrs Binh, 12 Lane 7")
    await harness.press("Land", "300")
    assert "Step 3/8" in harness.last("300").text  # the group is theirs: no group step
    await harness.send(user="300", text="Ngõ 7")
    await harness.press("Next", "300")
    await harness.send(user="300", text="Hai nhà tranh chấp lối đi chung trong ngõ.")
    await harness.press("3–5", "300")
    await harness.press("No", "300")
    await harness.press("Skip", "300")
    await harness.press("Don't share", "300")
    summary = harness.last("300").text
    assert "Reported for: Mr An and Mrs Binh, 12 Lane 7" in summary and "Tổ dân phố số 3" in summary
    assert "✏️ Tổ dân phố" not in str(harness.last("300").buttons) and "Residential group" not in str(
        harness.last("300").buttons)
    await harness.press("Send report", "300")
    assert CODE.search(harness.last("300").text)

    reporter, group = await one(harness, select(CaseRow.reporter_id, CaseRow.group_unit_id))
    assert reporter == await person_of(harness, "300")
    assert group == await unit_id(harness, f"{WARD_CODE}-tdp-3")
    (data,) = await one(harness, select(CaseEventRow.data).where(CaseEventRow.kind == "created"))
    assert data["on_behalf"] == "Mr An and Mrs Binh, 12 Lane 7"


async def test_a_leader_of_two_groups_chooses_among_them_only(harness):
    await make_invite(harness, "LeaderInvite101", "leader", f"{WARD_CODE}-tdp-1")
    await make_invite(harness, "LeaderInvite303", "leader", f"{WARD_CODE}-tdp-3")
    await become(harness, "301", "LeaderInvite101")
    await harness.send(user="301", text="/start LeaderInvite303")
    await harness.press("Report for my group", "301")
    await harness.press("Residents of the group", "301")
    await harness.press("Land", "301")
    offered = [label for label in buttons(harness.last("301")) if label.startswith("Tổ dân phố")]
    assert offered == ["Tổ dân phố số 1", "Tổ dân phố số 3"]
    await harness.send(user="301", text="Tổ dân phố số 2")
    assert "No group" in harness.last("301").text
    await harness.press("Tổ dân phố số 1", "301")
    await harness.send(user="301", text="Ngõ 1")
    await harness.press("Next", "301")
    await harness.send(user="301", text="Nước thải chảy ra ngõ chung của tổ.")
    await harness.press("6–10", "301")
    await harness.press("No", "301")
    await harness.press("Skip", "301")
    await harness.press("Don't share", "301")
    await harness.press("Send report", "301")
    group, reporter = await one(harness, select(CaseRow.group_unit_id, CaseRow.reporter_id))
    assert group == await unit_id(harness, f"{WARD_CODE}-tdp-1") and reporter == await person_of(harness, "301")
    (data,) = await one(harness, select(CaseEventRow.data).where(CaseEventRow.kind == "created"))
    assert data["on_behalf"] == "residents of the group"


async def test_residents_have_the_resident_form_only(harness):
    await consent(harness)
    assert not any("Report for my group" in label for label in buttons(harness.last()))
    await harness.send(callback="m:g")  # a forged menu button
    assert "could not read" in harness.last().text
    assert await harness.count("form_sessions") == 0
    await report(harness)
    (data,) = await one(harness, select(CaseEventRow.data).where(CaseEventRow.kind == "created"))
    assert "on_behalf" not in data


# --- the demo ward --------------------------------------------------------------------------

async def test_the_demo_ward_has_its_departments_and_teams_once(uow_factory):
    await load_demo_ward(uow_factory)
    await load_demo_ward(uow_factory)
    async with uow_factory() as uow:
        kinds = dict((await uow.session.execute(select(UnitRow.kind, func.count()).group_by(UnitRow.kind))).all())
        ward = await uow.units.ward(WARD_CODE)
        departments = await uow.units.departments(ward.id)
        teams = await uow.units.of_kind(ward.id, "team")
        groups = await uow.units.groups(ward.id)
        (codes,) = (await uow.session.execute(text("select count(distinct code) from units"))).one()
    assert kinds == {"commune": 1, "group": 6, "department": 6, "team": 6} and codes == 19
    assert [d.function for d in departments] == [
        "police", "office", "economic", "culture", "public_service", "fatherland_front"]
    assert department_code("economic") == "demo-ward-economic"
    assert {d.name for d in departments} >= {"Phòng Kinh tế, Hạ tầng và Đô thị", "Ủy ban MTTQ Việt Nam phường"}
    assert [(t.code, t.name, t.parent_id) for t in teams] == [
        (f"{g.code}-hg", f"Tổ hòa giải TDP số {n}", g.id) for n, g in enumerate(groups, start=1)]
