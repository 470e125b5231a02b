"""Everyone's rights over their data, over a real database: /privacy, the export file, withdrawal
and deletion, and the retention job that anonymises old closed cases."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from scheduler.retention import anonymise_old_cases
from storage.tables import CasePartyRow
from tests.integration.test_conversation import CODE, consent, harness, report  # noqa: F401 (fixture)
from tests.integration.test_case_actions import staff, ward  # noqa: F401 (fixtures)

ALICE, BOB = "100", "200"
ALICE_PHONE, BOB_PHONE = "0901234567", "0909876543"
BOB_STORY = "Bob's neighbour keeps his cattle on the lane every night."


async def rows(h, sql, **params):
    async with h.uow_factory() as uow:
        return (await uow.session.execute(text(sql), params)).all()


async def person_id(h, user):
    [(found,)] = await rows(h, "select person_id from identities where external_id = :user", user=user)
    return found


async def blob(h, sha256):
    async with h.uow_factory() as uow:
        found = await uow.blobs.get(sha256)
    assert found is not None
    return found


async def test_privacy_notice_in_english_and_vietnamese_and_before_consent(harness):
    h = harness
    await h.send(user=ALICE, text="/privacy")  # before consent: both languages, nothing stored
    before = h.last(ALICE)
    assert "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15" in before.text and "Personal Data Protection Law" in before.text
    assert before.text.index("Luật Bảo vệ") < before.text.index("Personal Data Protection Law")
    assert not before.buttons and await h.count("people") == 0

    await consent(h, ALICE)
    await h.send(user=ALICE, text="/privacy")
    notice = h.last(ALICE)
    assert "91/2025/QH15" in notice.text and "Decree 356/2025" in notice.text
    assert "5 years after a case is closed" in notice.text and "Who sees it" in notice.text
    labels = [choice.label for row in notice.buttons for choice in row]
    assert labels[:3] == ["📄 Download my data", "✋ Withdraw consent", "🗑 Delete my data"]

    await h.send(user=ALICE, text="/language")
    await h.press("Tiếng Việt", ALICE)
    await h.press("🔒 Dữ liệu của bạn", ALICE)  # the menu's entry
    vietnamese = h.last(ALICE).text
    assert "Nghị định 356/2025" in vietnamese and "5 năm sau khi kết thúc" in vietnamese and "Ai xem" in vietnamese

    await h.send(user=ALICE, text="/help")
    assert any("/privacy" in reply.text for reply in h.replies(ALICE)[-2:])


async def test_export_holds_my_case_and_account_and_nothing_of_a_neighbour(harness):
    h = harness
    await consent(h, ALICE)
    await report(h, ALICE, phone=ALICE_PHONE)
    [mine] = CODE.findall(h.last(ALICE).text)
    await consent(h, BOB)
    await report(h, BOB, BOB_STORY, phone=BOB_PHONE)  # the same residential group
    [bobs] = CODE.findall(h.last(BOB).text)

    await h.send(user=ALICE, text="/privacy")
    await h.press("Download my data", ALICE)
    reply = h.last(ALICE)
    assert "attached file" in reply.text
    [file] = reply.files
    assert (file.kind, file.file_name, file.mime_type) == ("document", "du-lieu-cua-toi.json", "application/json")
    data, mime = await blob(h, file.sha256)
    assert mime == "application/json"
    exported = json.loads(data.decode("utf-8"))

    assert exported["accounts"] == [{"platform": "telegram", "id": ALICE, "display_name": "Test",
                                     "linked_at": exported["accounts"][0]["linked_at"]}]
    assert exported["profile"]["language"] == "en" and exported["profile"]["consent_at"]
    [case] = exported["cases"]
    assert case["code"] == mine and case["field"] == "Land" and "wall on our land" in case["summary"]
    assert case["created_at"] and case["closed_at"] is None and case["what_you_are_told"]
    assert exported["roles"] == [] and exported["open_form"] is None
    raw = data.decode("utf-8")
    for theirs in (bobs, BOB_PHONE[1:], BOB_STORY, f'"{BOB}"'):  # the phone is stored as +84...
        assert theirs not in raw

    [(kind, status, requested_at, done_at)] = await rows(
        h, "select kind, status, requested_at, done_at from privacy_requests")
    assert (kind, status) == ("export", "done") and requested_at and done_at


async def test_delete_unlinks_the_person_and_keeps_the_case(harness):
    h = harness
    await consent(h, ALICE)
    await report(h, ALICE, phone=ALICE_PHONE)
    [code] = CODE.findall(h.last(ALICE).text)
    me = await person_id(h, ALICE)
    await h.press("Report a dispute", ALICE)  # a form left open
    assert await h.count("form_sessions") == 1

    await h.send(user=ALICE, text="/privacy")
    await h.press("Delete my data", ALICE)
    assert "Are you sure?" in h.last(ALICE).text
    assert await h.count("identities") == 1  # nothing removed on the first tap
    await h.press("Yes, delete my data", ALICE)
    assert "deletion request was received and carried out" in h.last(ALICE).text

    assert await rows(h, "select id from identities where external_id = :user", user=ALICE) == []
    assert await rows(h, "select id from form_sessions where person_id = :me", me=me) == []
    [(case_id, reporter, phone)] = await rows(h, "select id, reporter_id, contact_phone from cases where code = :c", c=code)
    assert reporter is None and phone is None
    assert await rows(h, "select id from case_events where case_id = :c", c=case_id)  # the history stays
    [(name, tombstone_phone, consent_at, deleted_at)] = await rows(
        h, "select full_name, phone, consent_at, deleted_at from people where id = :me", me=me)
    assert (name, tombstone_phone, consent_at) == (None, None, None) and deleted_at is not None
    assert await rows(h, "select id from outbox where chat_id = :user", user=ALICE) == []  # scrubbed or dropped

    [(kind, status, requested_at, done_at, detail)] = await rows(
        h, "select kind, status, requested_at, done_at, detail from privacy_requests")
    assert (kind, status) == ("delete", "done") and requested_at and done_at
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["accounts"] == 1 and detail["cases_unlinked"] == 1 and detail["form_sessions"] == 1
    assert ALICE_PHONE[1:] not in json.dumps(detail)

    await h.send(user=ALICE, text="hello again")  # like a new user: consent is asked again
    assert "choose your language" in h.last(ALICE).text.lower()
    await h.press("English", ALICE)
    await h.press("I agree", ALICE)
    await h.send(user=ALICE, text="/status")
    assert code not in h.last(ALICE).text


async def test_withdrawing_consent_can_be_cancelled_then_done(harness):
    h = harness
    await consent(h, ALICE)
    await h.send(user=ALICE, text="/privacy")
    await h.press("Withdraw consent", ALICE)
    await h.press("No, keep it", ALICE)
    assert "Nothing was changed" in h.last(ALICE).text and await h.count("identities") == 1

    await h.press("Withdraw consent", ALICE)
    await h.press("Yes, withdraw my consent", ALICE)
    assert "withdrawal of consent was received" in h.last(ALICE).text
    assert await h.count("identities") == 0
    assert [kind for (kind,) in await rows(h, "select kind from privacy_requests")] == ["withdraw"]


async def test_retention_anonymises_only_cases_closed_long_ago(harness):
    h = harness
    await consent(h, ALICE)
    codes = []
    for story in ("Old dispute about a wall.", "Recent dispute about noise.", "Open dispute about water."):
        await report(h, ALICE, story, phone=ALICE_PHONE)
        codes += CODE.findall(h.last(ALICE).text)
    old, recent, open_ = codes
    now = h.clock.now()
    for code, closed in ((old, now - timedelta(days=6 * 365)), (recent, now - timedelta(days=365))):
        async with h.uow_factory() as uow:
            await uow.session.execute(text(
                "update cases set status = 'closed', step = 5, outcome = 'successful', closed_at = :at, "
                "latitude = 21.0, longitude = 105.8 where code = :code"), {"at": closed, "code": code})
            case_id = (await uow.session.execute(text("select id from cases where code = :c"), {"c": code})).scalar_one()
            uow.session.add(CasePartyRow(case_id=case_id, name="Party", role="respondent", contact="0911111111",
                                         created_at=now))
            await uow.commit()

    assert await anonymise_old_cases(h.uow_factory, h.clock, 5) == 1

    def state(code):
        return rows(h, "select reporter_id, contact_phone, address, latitude, longitude, closed_at, outcome, field "
                       "from cases where code = :c", c=code)

    [(reporter, phone, address, lat, lon, closed_at, outcome, field)] = await state(old)
    assert (reporter, phone, address, lat, lon) == (None, None, None, None, None)
    assert closed_at is not None and outcome == "successful" and field == "land"
    assert await rows(h, "select contact from case_parties where contact is not null and case_id = "
                         "(select id from cases where code = :c)", c=old) == []
    assert await rows(h, "select id from case_events where case_id = (select id from cases where code = :c)", c=old)
    for untouched in (recent, open_):
        [(reporter, phone, address, *_)] = await state(untouched)
        assert reporter is not None and phone.endswith(ALICE_PHONE[1:]) and address == "12 Tran Phu"
    assert await rows(h, "select contact from case_parties where contact is not null") == [("0911111111",)]

    [before] = await state(old)
    assert await anonymise_old_cases(h.uow_factory, h.clock, 5) == 0  # idempotent
    assert await state(old) == [before]


async def test_an_officer_deleting_their_data_keeps_the_case_history(staff):
    """Staff: roles go, the people row stays as an empty tombstone, so the events keep their actor."""
    from tests.integration.test_case_actions import OFFICER, classify

    h = staff
    await classify(h, OFFICER)
    officer = await person_id(h, OFFICER)
    acted = await rows(h, "select kind from case_events where actor_id = :me", me=officer)
    assert acted

    await h.send(user=OFFICER, text="/privacy")
    await h.press("Download my data", OFFICER)
    exported = json.loads((await blob(h, h.last(OFFICER).files[0].sha256))[0])
    assert [role["role"] for role in exported["roles"]] == ["officer"] and exported["cases"] == []
    assert "Nguyễn" not in json.dumps(exported, ensure_ascii=False)  # no party or staff note of the case

    await h.press("Delete my data", OFFICER)
    assert "You hold a staff role" in h.last(OFFICER).text
    await h.press("Yes, delete my data", OFFICER)
    assert await rows(h, "select id from memberships where person_id = :me", me=officer) == []
    assert await rows(h, "select id from identities where person_id = :me", me=officer) == []
    assert await rows(h, "select kind from case_events where actor_id = :me", me=officer) == acted
    [(name, deleted_at)] = await rows(h, "select full_name, deleted_at from people where id = :me", me=officer)
    assert name is None and deleted_at is not None
    await h.send(user=OFFICER, text="/cases")
    assert "choose your language" in h.last(OFFICER).text.lower()
