"""Tip-off storage on real databases (storage/tipoffs.py): receipts stored as hashes only, the
identity sealed apart, lookups with the PIN lockout, reporter numbers under concurrency, and the
dialogue. Each test runs on SQLite and, with HOAGIAI_TEST_POSTGRES_URL set, on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from handlers.domain.model import NewCase
from handlers.domain.receipts import LOCK, MAX_TRIES, new_code
from storage.identity_vault import IdentityVault, new_key
from storage.uow import make_uow_factory

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
NAME, PHONE, ACCOUNT, USERNAME = "Nguyễn Văn An", "0912345678", "987654321", "an_nguyen_hn"
IDENTITY = {"name": NAME, "phone": PHONE, "platform": "telegram", "external_id": ACCOUNT, "username": USERNAME}
TABLES = ("tipoffs", "tipoff_messages", "sealed_identities", "cases")


@pytest.fixture
def factory(engine):
    return make_uow_factory(engine, IdentityVault.of([new_key()]))


def tipoff_case(at: datetime = NOW) -> NewCase:
    return NewCase(
        kind="tipoff", field="security", commune_unit_id=None, group_unit_id=None, address=None,
        latitude=None, longitude=None, summary="Có người buôn bán ma tuý ở đầu ngõ", people_count=None,
        danger_now=False, urgent=False, urgency_reasons=[], reporter_id=None, contact_phone=None,
        created_at=at, code_year=at.year, channel="telegram",
    )


async def create(factory, mode: str, identity: dict | None = None, *, happening_now: bool = False):
    async with factory() as uow:
        case = await uow.cases.add(tipoff_case())
        issued = await uow.tipoffs.create(case.id, mode, happening_now, identity, NOW)
        await uow.commit()
    return case, issued


async def lookup(factory, code: str, pin: str, at: datetime = NOW):
    async with factory() as uow:
        result = await uow.tipoffs.lookup(code, pin, at)
        await uow.commit()
    return result


async def raw_values(engine) -> list[object]:
    """Every value of the tip-off tables as plain SQL sees them (a dump, a backup)."""
    values: list[object] = []
    async with engine.connect() as connection:
        for table in TABLES:
            for row in await connection.exec_driver_sql(f"SELECT * FROM {table}"):
                values.extend(row)
    return values


def readable(value: object) -> list[str]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        forms = [data.decode("latin-1")]
        try:
            forms.append(base64.urlsafe_b64decode(data).decode("latin-1"))
        except ValueError:
            pass
        return forms
    return [str(value)]


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def typed_sloppily(code: str) -> str:
    return "  " + code.lower().replace("-", " ") + " "


# --- at rest ------------------------------------------------------------------------------------

async def test_tables_hold_no_code_pin_or_identity_in_plaintext(engine, factory):
    _, confidential = await create(factory, "confidential", IDENTITY)
    _, anonymous = await create(factory, "anonymous")
    async with factory() as uow:
        await uow.tipoffs.add_message(confidential.tipoff_id, "reporter", "Tôi thấy họ lúc 9 giờ", [], None, NOW)
        await uow.commit()

    needles = [NAME, "Nguyen Van An", PHONE, ACCOUNT, USERNAME]
    for issued in (confidential, anonymous):
        needles += [issued.code, issued.code.replace("-", ""), issued.code[3:], issued.pin]
    texts = [text for value in await raw_values(engine) for text in readable(value)]
    assert texts
    for needle in needles:
        assert not any(needle in text for text in texts), "a secret is readable at rest"
    assert confidential.pin not in repr(confidential) and confidential.code not in repr(confidential)


# --- create -------------------------------------------------------------------------------------

async def test_confidential_tipoff_seals_the_identity(factory):
    case, issued = await create(factory, "confidential", IDENTITY, happening_now=True)
    async with factory() as uow:
        tipoff = await uow.tipoffs.by_case(case.id)
        assert tipoff == await uow.tipoffs.get(issued.tipoff_id)
        assert (tipoff.id, tipoff.case_id, tipoff.mode, tipoff.number) == (issued.tipoff_id, case.id, "confidential", 1)
        assert tipoff.has_identity and tipoff.happening_now and tipoff.created_at == NOW
        assert await uow.tipoffs.reporter_chat(tipoff.id) == ("telegram", ACCOUNT)
        identity_id = (await uow.session.execute(
            text("SELECT identity_id FROM tipoffs WHERE id = :id"), {"id": tipoff.id})).scalar_one()
        assert await uow.identities.get(identity_id) == IDENTITY
        reporter_id = (await uow.session.execute(
            text("SELECT reporter_id FROM cases WHERE id = :id"), {"id": case.id})).scalar_one()
        assert reporter_id is None


async def test_anonymous_tipoff_keeps_no_identity(engine, factory):
    case, issued = await create(factory, "anonymous")
    async with factory() as uow:
        tipoff = await uow.tipoffs.by_case(case.id)
        assert tipoff.mode == "anonymous" and not tipoff.has_identity and not tipoff.happening_now
        assert await uow.tipoffs.reporter_chat(issued.tipoff_id) is None
        assert await uow.tipoffs.reporter_chat(issued.tipoff_id + 100) is None
        assert await uow.tipoffs.by_case(case.id + 100) is None
    async with engine.connect() as connection:
        count = (await connection.exec_driver_sql("SELECT count(*) FROM sealed_identities")).scalar_one()
    assert count == 0


async def test_mode_and_identity_must_agree(factory):
    async with factory() as uow:
        case = await uow.cases.add(tipoff_case())
        with pytest.raises(ValueError, match="anonymous"):
            await uow.tipoffs.create(case.id, "anonymous", False, IDENTITY, NOW)
        with pytest.raises(ValueError, match="confidential"):
            await uow.tipoffs.create(case.id, "confidential", False, None, NOW)
        with pytest.raises(ValueError, match="mode"):
            await uow.tipoffs.create(case.id, "public", False, None, NOW)


async def test_numbers_follow_on(factory):
    numbers = [(await create(factory, "anonymous"))[1].number for _ in range(3)]
    assert numbers == [1, 2, 3]


async def test_numbers_are_distinct_for_concurrent_creations(factory):
    """The second unit of work reads max(number) while the first has not committed: on
    PostgreSQL its insert waits, fails on the unique number and is retried with the next one."""
    first_flushed = asyncio.Event()

    async def first():
        async with factory() as uow:
            case = await uow.cases.add(tipoff_case())
            issued = await uow.tipoffs.create(case.id, "confidential", False, IDENTITY, NOW)
            first_flushed.set()
            await asyncio.sleep(0.3)
            await uow.commit()
        return issued.number

    async def second():
        await first_flushed.wait()
        async with factory() as uow:
            case = await uow.cases.add(tipoff_case())
            issued = await uow.tipoffs.create(case.id, "anonymous", False, None, NOW)
            await uow.commit()
        return issued.number

    assert sorted(await asyncio.gather(first(), second())) == [1, 2]
    many = await asyncio.gather(*(create(factory, "anonymous") for _ in range(6)))
    assert sorted(issued.number for _, issued in many) == [3, 4, 5, 6, 7, 8]


# --- lookup -------------------------------------------------------------------------------------

async def test_lookup_from_scratch_with_code_and_pin(factory):
    case, issued = await create(factory, "confidential", IDENTITY)
    found = await lookup(factory, typed_sloppily(issued.code), issued.pin)
    assert found.outcome == "found" and found.tipoff.case_id == case.id and found.tipoff.number == issued.number

    assert (await lookup(factory, issued.code, wrong(issued.pin))).outcome == "wrong"
    assert (await lookup(factory, new_code(), issued.pin)).outcome == "unknown"
    assert (await lookup(factory, "not a code", issued.pin)).outcome == "unknown"
    unknown = await lookup(factory, new_code(), issued.pin)
    assert unknown.tipoff is None and unknown.tries_left is None and unknown.locked_until is None


async def test_five_wrong_pins_lock_for_an_hour_even_with_the_right_pin(factory):
    _, issued = await create(factory, "anonymous")
    _, other = await create(factory, "anonymous")
    results = [await lookup(factory, issued.code, wrong(issued.pin), NOW + timedelta(minutes=minute))
               for minute in range(MAX_TRIES)]
    assert [r.outcome for r in results] == ["wrong"] * (MAX_TRIES - 1) + ["locked"]
    assert [r.tries_left for r in results] == [4, 3, 2, 1, 0]
    locked_at = NOW + timedelta(minutes=MAX_TRIES - 1)
    assert results[-1].locked_until == locked_at + LOCK

    almost = locked_at + LOCK - timedelta(seconds=1)
    refused = await lookup(factory, typed_sloppily(issued.code), issued.pin, almost)
    assert refused.outcome == "locked" and refused.tipoff is None and refused.locked_until == locked_at + LOCK
    assert (await lookup(factory, other.code, other.pin, almost)).outcome == "found"  # the lock is per receipt

    found = await lookup(factory, issued.code, issued.pin, locked_at + LOCK)
    assert found.outcome == "found" and found.tipoff.id == issued.tipoff_id
    again = await lookup(factory, issued.code, wrong(issued.pin), locked_at + LOCK)
    assert again.outcome == "wrong" and again.tries_left == MAX_TRIES - 1  # success reset the count


async def test_wrong_pins_count_only_when_committed(factory):
    _, issued = await create(factory, "anonymous")
    for _ in range(MAX_TRIES):
        async with factory() as uow:
            await uow.tipoffs.lookup(issued.code, wrong(issued.pin), NOW)  # rolled back: not counted
    assert (await lookup(factory, issued.code, issued.pin)).outcome == "found"


# --- the dialogue -------------------------------------------------------------------------------

async def test_messages_round_trip_in_order(factory):
    _, issued = await create(factory, "confidential", IDENTITY)
    _, other = await create(factory, "anonymous")
    async with factory() as uow:
        officer = await uow.people.create(platform="telegram", external_id="555", display_name="Trung uý Hùng",
                                          language="vi", consent_version="2026-11", now=NOW)
        photo = {"platform": "telegram", "file_id": "AgAC-1", "kind": "photo"}
        sent = [
            await uow.tipoffs.add_message(issued.tipoff_id, "reporter", "Họ đến lúc 9 giờ", [photo], None, NOW),
            await uow.tipoffs.add_message(issued.tipoff_id, "police", "Cảm ơn, chúng tôi đã nhận", [], officer.id,
                                          NOW + timedelta(minutes=5)),
            await uow.tipoffs.add_message(issued.tipoff_id, "reporter", "Họ lại đến", [], None,
                                          NOW + timedelta(minutes=5)),
        ]
        await uow.tipoffs.add_message(other.tipoff_id, "reporter", "Khác", [], None, NOW)
        with pytest.raises(ValueError):
            await uow.tipoffs.add_message(issued.tipoff_id, "officer", "x", [], None, NOW)
        with pytest.raises(ValueError):
            await uow.tipoffs.add_message(issued.tipoff_id, "reporter", "x", [], officer.id, NOW)
        await uow.commit()

    async with factory() as uow:
        messages = await uow.tipoffs.messages(issued.tipoff_id)
        assert messages == sent
        assert [(m.sender, m.text, m.files, m.officer_id) for m in messages] == [
            ("reporter", "Họ đến lúc 9 giờ", [photo], None),
            ("police", "Cảm ơn, chúng tôi đã nhận", [], officer.id),
            ("reporter", "Họ lại đến", [], None),
        ]
        assert [m.text for m in await uow.tipoffs.messages(other.tipoff_id)] == ["Khác"]
        assert await uow.tipoffs.messages(other.tipoff_id + 100) == []
