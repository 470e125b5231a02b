"""Crime tip-offs from the reporter's side, over a real database: the choice of mode, the form,
the receipt shown once, the status check by code and PIN from any account with its limits, and
adding information; the reporter's identity never reaches the case, the events, the other
tables or the logs."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import inspect, text

from handlers.domain import receipts
from handlers.messages import FileRef, Inbound, Location, UserRef
from tests.integration.test_conversation import Harness, consent, harness  # noqa: F401 (fixture)
from tests.integration.test_staff_conversation import CODE_OFFICER, become, ward  # noqa: F401 (fixture)

REPORTER, OTHER, OFFICER = "770011223344", "555", "200"
REPORTER_NAME = "Trần Thị Bí Mật"
REPORTER_PHONE_TYPED, REPORTER_PHONE = "0912 000 999", "+84912000999"
RECEIPT = re.compile(r"Receipt code: (TB-[0-9A-Z-]+)\nPIN: (\d{6})")
STORY = "Two men sell drugs from a grey van behind the market every evening."
GPS_IFD, MAKE, MODEL = 0x8825, 0x010F, 0x0110


async def send_as(h: Harness, user: str, name: str = REPORTER_NAME, **fields) -> None:
    """An update from an account with a display name of its own (the harness's is "Test")."""
    await h.deliver(Inbound(platform="telegram", bot_id="1", update_id=str(next(h.ids)),
                            user=UserRef("telegram", user, name, "en"), chat_id=user, **fields))


async def press_as(h: Harness, label: str, user: str = REPORTER) -> None:
    for reply in reversed(h.replies(user)):
        for row in reply.buttons:
            for choice in row:
                if label in choice.label:
                    return await send_as(h, user, callback=choice.data)
    raise AssertionError(f"no button {label!r}; last: {h.last(user).text!r}")


def photo_with_metadata() -> bytes:
    """A JPEG as a phone makes it: the maker, the model and where it was taken."""
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = "PhoneMaker", "Model-X9"
    exif[GPS_IFD] = {1: "N", 2: (10.0, 46.0, 30.0), 3: "E", 4: (106.0, 41.0, 15.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def photo_ref(data: bytes) -> FileRef:
    import hashlib
    return FileRef(kind="photo", file_id="tg-file-1", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                   mime_type="image/jpeg", data=data)


async def consent_as(h: Harness, user: str, name: str = REPORTER_NAME) -> None:
    await send_as(h, user, name, text="/start")
    await press_as(h, "English", user)
    await press_as(h, "I agree", user)


async def tip_off(h: Harness, user: str = REPORTER, *, mode: str = "Keep my identity secret", now: bool = True,
                  photo: bytes | None = None, share_location: bool = False) -> tuple[str, str]:
    """A whole tip-off from the menu; returns the receipt's code and PIN."""
    await press_as(h, "Report a crime", user)
    assert "Anonymous: nothing about you is kept" in h.last(user).text
    await press_as(h, mode, user)
    await send_as(h, user, text=STORY)
    await send_as(h, user, text="Around 9 pm yesterday")
    if share_location:
        await send_as(h, user, location=Location(10.775, 106.6875))
    await send_as(h, user, text="Behind the market, lane 5")
    if not share_location:
        await press_as(h, "Next", user)
    await press_as(h, "Skip", user)  # who
    if photo is not None:
        await send_as(h, user, files=(photo_ref(photo),))
    await press_as(h, "Done" if photo is not None else "Skip", user)
    await press_as(h, "Yes, right now" if now else "No", user)
    if mode != "Anonymous":
        await send_as(h, user, text=REPORTER_PHONE_TYPED)
    summary = h.last(user).text
    assert "Behind the market, lane 5" in summary and STORY in summary
    await press_as(h, "Send the tip-off", user)
    found = RECEIPT.search(h.last(user).text)
    assert found, h.last(user).text
    return found.group(1), found.group(2)


async def rows(h: Harness, sql: str, **params):
    async with h.uow_factory() as uow:
        return (await uow.session.execute(text(sql), params)).all()


async def every_table_as_text(h: Harness, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Each table's rows as one text, read straight from the database."""
    async with h.uow_factory() as uow:
        names = await uow.session.run_sync(lambda session: inspect(session.connection()).get_table_names())
        return {name: repr((await uow.session.execute(text(f'select * from "{name}"'))).all())
                for name in names if name not in skip}


async def test_confidential_tipoff_keeps_the_reporter_off_the_case_and_every_table(harness, ward, caplog):
    h = harness
    await become(ward, OFFICER, CODE_OFFICER)
    await consent_as(h, REPORTER)
    caplog.set_level(logging.INFO)  # libraries at debug level print SQL parameters; ours must not
    caplog.set_level(logging.DEBUG, logger="hoagiai")
    code, pin = await tip_off(h, photo=photo_with_metadata())

    receipt = h.last(REPORTER)
    assert "#1" in receipt.text and "ONLY THIS ONCE" in receipt.text
    [(kind, reporter_id, phone, nature, confidential, urgent, case_id)] = await rows(
        h, "select kind, reporter_id, contact_phone, nature, confidential, urgent, id from cases where kind = 'tipoff'")
    assert (kind, reporter_id, phone, nature, bool(confidential), bool(urgent)) == (
        "tipoff", None, None, "crime", True, True)
    assert await h.count("form_sessions") == 0  # the draft went with the submission
    [(mode, identity_id, receipt_hash, pin_hash)] = await rows(
        h, "select mode, identity_id, receipt_hash, pin_hash from tipoffs")
    assert mode == "confidential" and identity_id is not None
    assert receipt_hash == receipts.receipt_hash(code) and pin not in pin_hash and code not in receipt_hash
    [(actor_id,)] = await rows(h, "select actor_id from case_events where kind = 'created' and case_id = :c", c=case_id)
    assert actor_id is None
    officer_news = h.last(OFFICER).text
    assert "drugs" in officer_news and REPORTER_NAME not in officer_news and REPORTER not in officer_news

    # The sealed identity opens to what the police need to reach the reporter.
    async with h.uow_factory() as uow:
        sealed = await uow.identities.get(identity_id)
        assert await uow.tipoffs.reporter_chat(1) == ("telegram", REPORTER)
    assert sealed["display_name"] == REPORTER_NAME and sealed["phone"] == REPORTER_PHONE

    # Read straight from the tables: only the account registry and the outbox (the menu it was
    # sent before) know the account; no table holds the name, the phone, the code or the PIN.
    tables = await every_table_as_text(h, skip=("people", "identities", "outbox"))
    for table, content in tables.items():
        for secret in (REPORTER, REPORTER_NAME, REPORTER_PHONE, REPORTER_PHONE_TYPED, code, pin):
            assert secret not in content, (table, secret)
    registry = await every_table_as_text(h)
    assert REPORTER_PHONE not in registry["people"] and REPORTER_PHONE not in registry["identities"]
    # Every message of the tip-off was scrubbed once sent: what is left for the reporter's chat
    # says nothing of it.
    left = repr(await rows(h, "select payload from outbox where chat_id = :chat", chat=REPORTER))
    assert "Thank you for agreeing" in left
    for trace in (STORY, "lane 5", "Tell what happened", "Before you start", code, pin, REPORTER_PHONE_TYPED, "#1"):
        assert trace not in left, trace
    # Logs never name the reporter.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "tipoff created" in logged
    for secret in (REPORTER, REPORTER_NAME, REPORTER_PHONE, code, pin):
        assert secret not in logged

    # The photo kept as evidence lost the maker, the model and the place (no location shared).
    [(file_id, sha256)] = await rows(h, "select file_id, sha256 from attachments where case_id = :c", c=case_id)
    assert file_id == f"blob:{sha256}"
    async with h.uow_factory() as uow:
        data, mime = await uow.blobs.get(sha256)
    assert mime == "image/jpeg" and b"PhoneMaker" not in data and b"Model-X9" not in data
    assert GPS_IFD not in Image.open(io.BytesIO(data)).getexif()


async def test_the_location_stays_in_a_photo_when_the_reporter_shared_it(harness):
    h = harness
    await consent_as(h, REPORTER)
    await tip_off(h, mode="Anonymous", photo=photo_with_metadata(), share_location=True, now=False)
    [(sha256,)] = await rows(h, "select sha256 from attachments")
    async with h.uow_factory() as uow:
        data, _ = await uow.blobs.get(sha256)
    exif = Image.open(io.BytesIO(data)).getexif()
    assert exif.get_ifd(GPS_IFD)[1] == "N" and MAKE not in exif and b"PhoneMaker" not in data
    [(latitude, urgent)] = await rows(h, "select latitude, urgent from cases")
    assert latitude == 10.775 and not urgent


async def test_anonymous_tipoff_keeps_no_identity_at_all(harness):
    h = harness
    await consent_as(h, REPORTER)
    await tip_off(h, mode="Anonymous", now=False)
    [(mode, identity_id, happening_now)] = await rows(h, "select mode, identity_id, happening_now from tipoffs")
    assert (mode, identity_id, bool(happening_now)) == ("anonymous", None, False)
    assert await h.count("sealed_identities") == 0
    assert "phone" not in h.replies(REPORTER)[-2].text.lower()  # the summary asked no phone
    async with h.uow_factory() as uow:
        assert await uow.tipoffs.reporter_chat(1) is None


async def test_status_by_code_and_pin_from_another_account_then_a_wrong_pin_locks(harness):
    h = harness
    await consent_as(h, REPORTER)
    code, pin = await tip_off(h, mode="Anonymous", now=False)
    await consent_as(h, OTHER, "Someone Else")

    await send_as(h, OTHER, "Someone Else", text=f"{code.lower().replace('-', ' ')} {pin}")  # typed loosely
    status = h.last(OTHER).text
    assert "Tip-off #1" in status and "Status:" in status and "send more information" in status

    wrong_pin = f"{(int(pin) + 1) % 1_000_000:06d}"
    unknown = receipts.new_code()
    await send_as(h, OTHER, "Someone Else", text=f"{unknown} {pin}")
    said_for_unknown = h.last(OTHER).text
    await send_as(h, OTHER, "Someone Else", text=f"{code} {wrong_pin}")
    assert h.last(OTHER).text == said_for_unknown  # a wrong PIN reads like an unknown code
    for _ in range(receipts.MAX_TRIES - 1):
        await send_as(h, OTHER, "Someone Else", text=f"{code} {wrong_pin}")
    await send_as(h, OTHER, "Someone Else", text=f"{code} {pin}")  # right, but locked now
    assert "locked" in h.last(OTHER).text and "Tip-off #1" not in h.last(OTHER).text

    h.clock.current += receipts.LOCK + timedelta(minutes=1)
    await send_as(h, REPORTER, text=f"/check {code} {pin}")
    assert "Tip-off #1" in h.last(REPORTER).text


async def test_an_account_that_keeps_guessing_is_stopped_for_an_hour(harness):
    h = harness
    await consent_as(h, OTHER, "Guesser")
    for _ in range(10):
        await send_as(h, OTHER, "Guesser", text=f"{receipts.new_code()} 123456")
    assert "wrong" in h.last(OTHER).text
    await send_as(h, OTHER, "Guesser", text=f"{receipts.new_code()} 123456")
    assert "too many wrong attempts" in h.last(OTHER).text
    [(count,)] = await rows(h, "select count(*) from receipt_checks")
    assert count == 10  # the refused one was not even looked up
    h.clock.current += timedelta(hours=1, minutes=1)
    await send_as(h, OTHER, "Guesser", text=f"{receipts.new_code()} 123456")
    assert "wrong" in h.last(OTHER).text


async def test_the_dialogue_delivers_both_ways_and_names_nobody(harness, ward):
    h = harness
    await become(ward, OFFICER, CODE_OFFICER)
    await consent_as(h, REPORTER)
    code, pin = await tip_off(h, mode="Anonymous", now=False)
    await consent_as(h, OTHER, "Someone Else")
    await send_as(h, OTHER, "Someone Else", text=f"{code} {pin}")
    await send_as(h, OTHER, "Someone Else", text="The van's plate is 59X1-234.56")
    assert "Sent to the ward police" in h.last(OTHER).text
    told = h.last(OFFICER).text
    assert "Reporter #1" in told and "59X1-234.56" in told
    assert "Someone Else" not in told and OTHER not in told

    async with h.uow_factory() as uow:  # the officer's reply (handlers/tipoff_police.py writes it)
        [mine] = await uow.tipoffs.messages(1)
        assert (mine.sender, mine.officer_id) == ("reporter", None)
        officer_id = (await uow.session.execute(text("select min(person_id) from identities where external_id = :o"),
                                                {"o": OFFICER})).scalar_one()
        await uow.tipoffs.add_message(1, "police", "Thank you, we are checking.", [], officer_id, h.clock.now())
        await uow.commit()
    await press_as(h, "Done", OTHER)
    assert "Adding information is closed" in h.last(OTHER).text
    await send_as(h, OTHER, "Someone Else", text="The van came back")  # no session: not for the police
    assert "Sorry, I did not understand" in h.last(OTHER).text
    await send_as(h, REPORTER, text=f"{code} {pin}")  # the reporter's own account, later
    status = h.last(REPORTER).text
    assert "Ward police: Thank you, we are checking." in status and "You: The van's plate" in status
    assert "Test" not in status


async def test_add_information_from_a_pushed_reply_only_in_the_reporters_chat(harness):
    h = harness
    await consent_as(h, REPORTER)
    await tip_off(h)
    await consent_as(h, OTHER, "Someone Else")
    await send_as(h, OTHER, "Someone Else", callback="tp:w:1")  # a forged or forwarded button
    assert h.last(OTHER).text == "I could not read that button."
    assert await h.count("form_sessions") == 0
    await send_as(h, REPORTER, callback="tp:w:1")
    assert "send more information" in h.last(REPORTER).text
    [(answers,)] = await rows(h, "select answers from form_sessions")
    assert "tipoff_id" not in str(answers)  # sealed: the row does not say which tip-off
    await send_as(h, REPORTER, text="He also has a knife.")
    async with h.uow_factory() as uow:
        assert [m.text for m in await uow.tipoffs.messages(1)] == ["He also has a knife."]
