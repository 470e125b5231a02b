"""The ward police's side of a crime tip-off by chat, over a real database (handlers/tipoff_police.py):
the card's tip-off section, the whole dialogue, a reply that reaches a confidential reporter's chat
(ephemeral) or waits for an anonymous one, and the head's reveal, asked for a reason and recorded.
No other screen (lists, card, history, the ward report, the export), no case event and no log line
names the reporter: not their name, account or phone.

The officer (200) uses the bot in Vietnamese, the head (210) in English. Tip-off cases are made
directly in storage, as the reporter side would: in group 3, so that group's leader and mediation
team would see them if they were disputes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select, text, update

from handlers.domain.model import NewCase
from storage.demo import POLICE_CODE, WARD_CODE
from storage.identity_vault import IdentityVault, new_key
from storage.tables import CaseEventRow, OutboxRow, PersonRow
from storage.uow import make_uow_factory
from tests.integration.cli_runner import cli_runner
from tests.integration.test_conversation import consent, harness  # noqa: F401 (fixture)
from tests.integration.test_staff_conversation import CODE_LEADER3, CODE_OFFICER, become, make_invite

CODE_HEAD, CODE_MEDIATOR3 = "HeadInvite0001", "MediatorInvite3"
OFFICER, HEAD, LEADER, MEDIATOR = "200", "210", "300", "400"
OFFICER_NAME, HEAD_NAME = "Đại úy Lò Văn Kín", "Thiếu tá Hà Văn Trưởng"
REPORTER_CHAT = "770011223344"
REPORTER = {"person_id": 9001, "platform": "telegram", "external_id": REPORTER_CHAT, "chat_id": REPORTER_CHAT,
            "display_name": "Trần Thị Bí Mật", "phone": "+84912000999"}
SECRETS = ("Trần Thị Bí Mật", "Tran Thi Bi Mat", "Bí Mật", REPORTER_CHAT, "+84912000999", "0912000999", "912000999")
DRUGS = "Có người bán ma túy ở đầu ngõ 7 mỗi tối"
GAMBLING = "Nhóm thanh niên tụ tập đánh bạc ở bãi đất trống"
ANSWER = "Cảm ơn anh chị, chúng tôi đã cử tổ tuần tra tới ngõ 7."
REASON = "Cần mời người báo tin làm chứng trong vụ án ma túy"
KEY = new_key()
NOT_FOUND_VI = "Không tìm thấy vụ việc"


@pytest.fixture
def uow_factory(engine):
    """Units of work that can seal and open identities (the shared fixture's hold no key)."""
    return make_uow_factory(engine, IdentityVault.of([KEY]))


@dataclass(frozen=True)
class Tip:
    case_id: int
    code: str
    tipoff_id: int
    number: int


async def add_tipoff(h, mode: str, identity: dict | None, story: str, *, happening_now: bool = False,
                     factory=None) -> Tip:
    """A tip-off case as the reporter side makes it: no reporter on the case, the identity sealed
    beside it (confidential only), and the reporter's first message."""
    now = h.clock.now()
    async with (factory or h.uow_factory)() as uow:
        ward = await uow.units.ward(WARD_CODE)
        group = await uow.units.by_code(f"{WARD_CODE}-tdp-3")
        case = await uow.cases.add(NewCase(
            kind="tipoff", field="public_order", commune_unit_id=ward.id, group_unit_id=group.id, address="Ngõ 7",
            latitude=None, longitude=None, summary=story, people_count=None, danger_now=happening_now, urgent=False,
            urgency_reasons=[], reporter_id=None, contact_phone=None, created_at=now, code_year=2026,
            channel="telegram", nature="crime", confidential=mode == "confidential"))
        await uow.cases.add_event(case.id, actor_id=None, kind="created", data={"channel": "telegram"}, at=now)
        issued = await uow.tipoffs.create(case.id, mode, happening_now, identity, now)
        await uow.tipoffs.add_message(issued.tipoff_id, "reporter", f"{story}. Tôi thấy lúc 21 giờ.", [], None, now)
        await uow.commit()
    return Tip(case.id, case.code, issued.tipoff_id, issued.number)


async def name_person(h, user: str, name: str) -> None:
    async with h.uow_factory() as uow:
        person = await uow.people.by_identity("telegram", user)
        await uow.session.execute(update(PersonRow).where(PersonRow.id == person.id).values(full_name=name))
        await uow.commit()


@pytest.fixture
async def police(harness):
    """An officer and the head of the ward police, group 3's leader and a mediator of its team;
    a confidential tip-off (#1, happening now) and an anonymous one (#2)."""
    h = harness
    await make_invite(h, CODE_OFFICER, "officer", POLICE_CODE)
    await make_invite(h, CODE_HEAD, "head", POLICE_CODE)
    await make_invite(h, CODE_LEADER3, "leader", f"{WARD_CODE}-tdp-3")
    await make_invite(h, CODE_MEDIATOR3, "mediator", f"{WARD_CODE}-tdp-3-hg")
    for user, code in ((OFFICER, CODE_OFFICER), (HEAD, CODE_HEAD), (LEADER, CODE_LEADER3), (MEDIATOR, CODE_MEDIATOR3)):
        await become(h, user, code)
    await name_person(h, OFFICER, OFFICER_NAME)
    await name_person(h, HEAD, HEAD_NAME)
    await h.send(user=OFFICER, text="/language")
    await h.press("Tiếng Việt", OFFICER)
    h.confidential = await add_tipoff(h, "confidential", REPORTER, DRUGS, happening_now=True)
    h.anonymous = await add_tipoff(h, "anonymous", None, GAMBLING)
    return h


# --- helpers ------------------------------------------------------------------------------------

def everything_seen(h, user: str) -> str:
    """Every text and button label the chat received."""
    return "\n".join(reply.text + "\n" + " ".join(f"{c.label} {c.data}" for row in reply.buttons for c in row)
                     for reply in h.replies(user))


def labels(reply) -> list[str]:
    return [choice.label for row in reply.buttons for choice in row]


def assert_no_secret(found: str) -> None:
    for secret in SECRETS:
        assert secret not in found, f"{secret!r} leaked"


async def open_card(h, user: str, tip: Tip) -> None:
    await h.send(user=user, text=f"/case {tip.code}")


async def events(h, case_id: int, kind: str) -> list:
    """The case's events of `kind`: (actor_id, data) rows."""
    async with h.uow_factory() as uow:
        return list((await uow.session.execute(
            select(CaseEventRow.actor_id, CaseEventRow.data)
            .where(CaseEventRow.case_id == case_id, CaseEventRow.kind == kind).order_by(CaseEventRow.id))).all())


async def every_event_data(h) -> str:
    async with h.uow_factory() as uow:
        return " ".join(str(data) for data in await uow.session.scalars(select(CaseEventRow.data)))


async def last_outbox_id(h) -> int:
    async with h.uow_factory() as uow:
        return (await uow.session.scalar(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1))) or 0


async def outbox_after(h, row_id: int) -> list:
    async with h.uow_factory() as uow:
        return list((await uow.session.execute(
            select(OutboxRow.__table__).where(OutboxRow.id > row_id).order_by(OutboxRow.id))).all())


async def person_id(h, user: str) -> int:
    async with h.uow_factory() as uow:
        return (await uow.people.by_identity("telegram", user)).id


async def messages(h, tip: Tip):
    async with h.uow_factory() as uow:
        return await uow.tipoffs.messages(tip.tipoff_id)


# --- what officers see --------------------------------------------------------------------------

async def test_officers_see_the_tipoff_and_its_dialogue_but_never_the_reporter(
        police, database_url, monkeypatch, tmp_path, capsys, caplog):
    h, tip = police, police.confidential
    with caplog.at_level(logging.DEBUG, logger="hoagiai"):
        await h.send(user=OFFICER, text="/cases")
        [listed] = [label for label in labels(h.last(OFFICER)) if tip.code in label]
        assert listed.startswith("🕵")  # tip-offs are marked in lists
        await h.send(user=OFFICER, callback="k:l:new:0")
        assert tip.code in str(h.last(OFFICER).buttons) and h.anonymous.code in str(h.last(OFFICER).buttons)
        await h.press(tip.code, OFFICER)

        card = h.last(OFFICER)
        assert f"Vụ việc {tip.code}" in card.text
        assert "🕵 Tin báo tội phạm · Người báo tin #1" in card.text
        assert "giữ bí mật danh tính" in card.text and "đang diễn ra" in card.text
        assert f"Người báo tin #1: {DRUGS}. Tôi thấy lúc 21 giờ." in card.text
        assert {"💬 Trả lời người báo tin", "📜 Toàn bộ trao đổi"} <= set(labels(card))
        assert "🔓 Xem danh tính" not in labels(card)  # the head's only

        await h.press("Toàn bộ trao đổi", OFFICER)
        dialogue = h.last(OFFICER).text
        assert dialogue.startswith(f"📜 Trao đổi với Người báo tin #1 (vụ việc {tip.code}):")
        assert f"Người báo tin #1: {DRUGS}. Tôi thấy lúc 21 giờ." in dialogue
        viewed = await events(h, tip.case_id, "tipoff_thread_viewed")
        assert [e.actor_id for e in viewed] == [await person_id(h, OFFICER)]

        await h.send(user=OFFICER, text=f"/history {tip.code}")
        assert "xem toàn bộ trao đổi với người báo tin" in h.last(OFFICER).text

        await h.send(user=OFFICER, callback="k:l:all:0")
        await h.send(user=OFFICER, text="/summary 2026-12")
        report = h.last(OFFICER)
        assert report.files
    assert_no_secret(everything_seen(h, OFFICER))
    assert_no_secret(await every_event_data(h))
    assert_no_secret(caplog.text)
    for file in report.files:  # the chart and the spreadsheet
        async with h.uow_factory() as uow:
            data, _ = await uow.blobs.get(file.sha256)
        assert_no_secret(data.decode("latin-1"))

    export = cli_runner("export", database_url, monkeypatch, tmp_path, capsys)
    code, _, err = await export("cases", "--output", "cases.csv")
    assert code == 0, err
    exported = (tmp_path / "cases.csv").read_text(encoding="utf-8-sig")
    assert tip.code in exported
    assert_no_secret(exported)


async def test_the_card_shows_the_latest_messages_with_the_unit_and_the_officer(police):
    h, tip = police, police.anonymous
    async with h.uow_factory() as uow:
        officer_id = (await uow.people.by_identity("telegram", OFFICER)).id
        for n in range(1, 5):
            await uow.tipoffs.add_message(tip.tipoff_id, "police", f"Câu hỏi số {n}", [], officer_id, h.clock.now())
        await uow.tipoffs.add_message(tip.tipoff_id, "reporter", "Ảnh đây", [{"kind": "photo"}], None, h.clock.now())
        await uow.commit()
    await open_card(h, OFFICER, tip)
    card = h.last(OFFICER).text
    assert "Trao đổi gần đây (3/6 tin):" in card and "ẩn danh" in card and "không diễn ra" in card
    assert f"Công an phường ({OFFICER_NAME}): Câu hỏi số 4" in card
    assert "Người báo tin #2: Ảnh đây (📎 1 tệp)" in card
    assert "Câu hỏi số 2" not in card
    await h.press("Toàn bộ trao đổi", OFFICER)
    assert "Câu hỏi số 1" in h.last(OFFICER).text and "Người báo tin #2: Nhóm thanh niên" in h.last(OFFICER).text


async def test_leaders_and_mediators_cannot_open_a_tipoff(police, caplog):
    h, tip = police, police.confidential
    for user in (LEADER, MEDIATOR):
        with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
            caplog.clear()
            await h.send(user=user, text=f"/case {tip.code}")
            await h.send(user=user, text=f"/history {tip.code}")
            await h.send(user=user, callback=f"k:o:{tip.case_id}")
            for verb in ("reply", "thread", "reveal"):
                await h.send(user=user, callback=f"k:t:{verb}:{tip.case_id}")
        answers = h.replies(user)[-6:]
        assert all(reply.text.startswith("No such case, or you are not allowed") for reply in answers), \
            [reply.text for reply in answers]
        assert sum("access refused person=" in record.message for record in caplog.records) == 6
        await h.send(user=user, callback="k:l:all:0")
        assert tip.code not in everything_seen(h, user) and DRUGS not in everything_seen(h, user)
    async with h.uow_factory() as uow:
        assert await uow.session.scalar(text("select count(*) from form_sessions")) == 0
    assert not await events(h, tip.case_id, "tipoff_thread_viewed")


# --- replies ------------------------------------------------------------------------------------

async def test_a_reply_reaches_the_confidential_reporter_as_the_ward_police(police):
    h, tip = police, police.confidential
    await open_card(h, OFFICER, tip)
    await h.press("Trả lời người báo tin", OFFICER)
    prompt = h.last(OFFICER).text
    assert "Bước 1/1: Trả lời người báo tin" in prompt and f"Vụ việc {tip.code}" in prompt
    before = await last_outbox_id(h)
    await h.send(user=OFFICER, text=ANSWER)

    [pushed] = h.replies(REPORTER_CHAT)  # the RecordingChannel got it on telegram, in the reporter's chat
    assert pushed.text == f"📩 Công an phường trả lời tin báo #1:\n\n{ANSWER}"
    assert OFFICER_NAME not in pushed.text and "Lò Văn Kín" not in pushed.text
    buttons = [[(c.label, c.data) for c in row] for row in pushed.buttons]
    assert buttons == [[("Gửi thêm thông tin", f"tp:w:{tip.tipoff_id}")]]

    rows = await outbox_after(h, before)
    [to_reporter] = [row for row in rows if row.ephemeral]
    assert (to_reporter.channel, to_reporter.status, to_reporter.dedupe_key) == ("telegram", "sent", None)
    assert to_reporter.payload is None and to_reporter.chat_id is None  # scrubbed once sent
    assert all(row.chat_id == OFFICER for row in rows if not row.ephemeral)

    card = h.last(OFFICER).text
    assert card.startswith("Đã gửi trả lời tới Người báo tin #1.")
    assert f"Công an phường ({OFFICER_NAME}): {ANSWER}" in card
    officer_id = await person_id(h, OFFICER)
    last = (await messages(h, tip))[-1]
    assert (last.sender, last.text, last.officer_id) == ("police", ANSWER, officer_id)
    [replied] = await events(h, tip.case_id, "tipoff_replied")
    assert (replied.actor_id, replied.data) == (officer_id, {"message_id": last.id})
    assert_no_secret(await every_event_data(h))


async def test_the_reply_is_in_the_reporters_language(police):
    h = police
    await consent(h, REPORTER_CHAT)  # the reporter's account chose English
    tip = await add_tipoff(h, "confidential", REPORTER, "Trộm xe máy", happening_now=False)
    await h.send(user=HEAD, text=f"/case {tip.code}")
    await h.press("Reply to the reporter", HEAD)
    await h.send(user=HEAD, text="We are on it.")
    assert h.last(REPORTER_CHAT).text == f"📩 The ward police replied to tip-off #{tip.number}:\n\nWe are on it."
    assert "Your reply was sent to Reporter #3." in h.last(HEAD).text


async def test_a_reply_at_night_waits_for_the_morning_unless_it_is_happening_now(police):
    h = police
    h.clock.current = h.clock.current.replace(hour=15, minute=30)  # 22:30 in the ward
    earlier = await add_tipoff(h, "confidential", REPORTER, "Trộm xe máy tuần trước")
    happening = await add_tipoff(h, "confidential", REPORTER, "Đang có đánh nhau", happening_now=True)
    for tip in (earlier, happening):
        await open_card(h, OFFICER, tip)
        await h.press("Trả lời người báo tin", OFFICER)
        await h.send(user=OFFICER, text=f"Trả lời tin báo #{tip.number}")
    sent_now = [reply.text.splitlines()[-1] for reply in h.replies(REPORTER_CHAT)]
    assert sent_now == [f"Trả lời tin báo #{happening.number}"]
    async with h.uow_factory() as uow:
        held = (await uow.session.execute(select(OutboxRow.__table__).where(OutboxRow.status == "pending"))).all()
    assert len(held) == 1 and held[0].ephemeral and held[0].chat_id == REPORTER_CHAT
    assert held[0].next_attempt_at.replace(tzinfo=None) == datetime(2026, 11, 23, 0, 0)  # 07:00 in the ward


async def test_an_anonymous_reporter_gets_nothing_pushed_and_reads_the_reply_later(police):
    h, tip = police, police.anonymous
    await open_card(h, OFFICER, tip)
    await h.press("Trả lời người báo tin", OFFICER)
    before = await last_outbox_id(h)
    await h.send(user=OFFICER, text=ANSWER)
    rows = await outbox_after(h, before)
    assert [row.chat_id for row in rows] == [OFFICER] and not any(row.ephemeral for row in rows)
    assert not h.replies(REPORTER_CHAT)
    assert "Người báo tin #2 báo ẩn danh nên sẽ đọc được khi tra cứu bằng mã và mã PIN" in h.last(OFFICER).text
    assert [(m.sender, m.text) for m in await messages(h, tip)][-1] == ("police", ANSWER)
    assert len(await events(h, tip.case_id, "tipoff_replied")) == 1


# --- the head's reveal --------------------------------------------------------------------------

async def test_the_head_sees_the_identity_alone_after_giving_a_reason(police, caplog):
    h, tip = police, police.confidential
    await open_card(h, HEAD, tip)
    assert "Reporter #1" in h.last(HEAD).text and "🔓 See the identity" in labels(h.last(HEAD))
    assert_no_secret(everything_seen(h, HEAD))
    await h.press("See the identity", HEAD)
    assert "Type the reason, at least 10 characters" in h.last(HEAD).text
    await h.send(user=HEAD, text="cần gấp")
    assert "The reason is too short" in h.last(HEAD).text
    assert not await events(h, tip.case_id, "identity_revealed")

    before = await last_outbox_id(h)
    with caplog.at_level(logging.DEBUG, logger="hoagiai"):
        await h.send(user=HEAD, text=REASON)
    shown = h.last(HEAD).text
    assert "Identity of Reporter #1" in shown
    assert "Name: Trần Thị Bí Mật" in shown and "Phone: +84912000999" in shown
    assert "Platform: telegram" in shown and f"Account id: {REPORTER_CHAT}" in shown
    [row] = await outbox_after(h, before)
    assert row.ephemeral and row.payload is None and row.chat_id is None  # nothing kept once sent
    for user in (OFFICER, LEADER, MEDIATOR, REPORTER_CHAT):
        assert "Bí Mật" not in everything_seen(h, user)

    [revealed] = await events(h, tip.case_id, "identity_revealed")
    assert (revealed.actor_id, revealed.data) == (await person_id(h, HEAD), {"reason": REASON})
    assert_no_secret(await every_event_data(h))
    assert "identity revealed code=" in caplog.text
    assert_no_secret(caplog.text)
    async with h.uow_factory() as uow:
        payloads = " ".join(str(p) for p in await uow.session.scalars(select(OutboxRow.payload)))
    assert_no_secret(payloads)

    await h.send(user=OFFICER, text=f"/history {tip.code}")
    history = h.last(OFFICER).text
    assert f"{HEAD_NAME}: 🔓 xem danh tính người báo tin: {REASON}" in history
    assert_no_secret(history)


async def test_officers_cannot_reveal_and_nobody_reveals_an_anonymous_tipoff(police, caplog):
    h = police
    await open_card(h, OFFICER, h.confidential)
    assert not any("Xem danh tính" in label for label in labels(h.last(OFFICER)))
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        await h.send(user=OFFICER, callback=f"k:t:reveal:{h.confidential.case_id}")  # a forged button
    assert h.last(OFFICER).text.startswith(NOT_FOUND_VI)
    assert "access refused person=" in caplog.text and "action=tipoff_reveal" in caplog.text

    await open_card(h, HEAD, h.anonymous)
    assert not any("See the identity" in label for label in labels(h.last(HEAD)))
    await h.send(user=HEAD, callback=f"k:t:reveal:{h.anonymous.case_id}")
    assert h.last(HEAD).text.startswith("No such case")

    assert await h.count("form_sessions") == 0
    for tip in (h.confidential, h.anonymous):
        assert not await events(h, tip.case_id, "identity_revealed")
    assert_no_secret(everything_seen(h, OFFICER) + everything_seen(h, HEAD))


async def test_an_identity_no_key_opens_or_since_deleted_is_said_plainly(police, engine):
    h = police
    other_keys = make_uow_factory(engine, IdentityVault.of([new_key()]))
    sealed_elsewhere = await add_tipoff(h, "confidential", REPORTER, "Trộm chó", factory=other_keys)

    await open_card(h, HEAD, sealed_elsewhere)
    await h.press("See the identity", HEAD)
    await h.send(user=HEAD, text=REASON)
    assert h.last(HEAD).text.startswith("This identity cannot be opened")
    assert_no_secret(h.last(HEAD).text)
    await h.press("Reply to the reporter", HEAD)
    await h.send(user=HEAD, text="Xin cảm ơn.")
    assert h.last(HEAD).text.startswith(
        f"Your reply is saved but could not be sent to Reporter #{sealed_elsewhere.number}")
    assert not h.replies(REPORTER_CHAT)

    tip = h.confidential
    await open_card(h, HEAD, tip)
    await h.press("See the identity", HEAD)
    async with h.uow_factory() as uow:  # deleted while the head types the reason (a deletion request)
        identity_id = await uow.session.scalar(text(f"select identity_id from tipoffs where id = {tip.tipoff_id}"))
        await uow.identities.delete(identity_id)
        await uow.commit()
    await h.send(user=HEAD, text=REASON)
    assert h.last(HEAD).text.startswith("This reporter's identity was deleted")
    await h.send(user=HEAD, callback=f"k:t:reveal:{tip.case_id}")  # the button of an older card
    assert h.last(HEAD).text.startswith("This reporter's identity was deleted")
    for case in (sealed_elsewhere, tip):
        assert not await events(h, case.case_id, "identity_revealed")
