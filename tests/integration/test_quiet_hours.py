"""Quiet hours over a real database: a resident is told of their case's move in the morning, the
officer acting is answered at once, and nothing held is leased or sent before its time."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.bootstrap import core_config
from bot.config import load_settings
from handlers import services
from handlers.domain.calendar import QuietHours
from handlers.messages import Outgoing, Reply
from storage.demo import POLICE_CODE, load_demo_ward
from storage.tables import OutboxRow
from tests.integration.test_case_actions import OFFICER, RESIDENT, classify, verify
from tests.integration.test_conversation import CODE, Harness, consent, harness, report  # noqa: F401 (fixture)
from tests.integration.test_staff_conversation import CODE_OFFICER, become, make_invite, ward  # noqa: F401 (fixture)

HANOI = timezone(timedelta(hours=7))
NOTICE = "News about your report"  # the resident's notice of a move


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, given in Hanoi time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=HANOI).astimezone(timezone.utc)


@pytest.fixture
async def officer(ward):
    await become(ward, OFFICER, CODE_OFFICER)
    return ward


async def notice_rows(h: Harness) -> list:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(
            select(OutboxRow.status, OutboxRow.next_attempt_at, OutboxRow.lease_owner)
            .where(OutboxRow.chat_id == RESIDENT, OutboxRow.dedupe_key.like("notify:%")))
        return [tuple(row) for row in rows]


def told_texts(h: Harness) -> list[str]:
    return [reply.text for reply in h.replies(RESIDENT) if NOTICE in reply.text and h.case_code in reply.text]


def told(h: Harness) -> bool:
    return bool(told_texts(h))


async def sweep(h: Harness) -> None:
    while await h.sender.drain_once():
        pass


async def test_a_move_at_night_reaches_the_resident_at_seven(officer):
    h = officer
    h.clock.current = local(22, 22, 30)
    await classify(h)
    assert "The case is classified." in h.last(OFFICER).text  # the officer is answered at once
    assert not told(h)
    assert await notice_rows(h) == [("pending", local(23, 7), None)]
    assert local(23, 7) == datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)

    # The resident writes in the night: they are answered at once, the notice still waits.
    await h.send(user=RESIDENT, text="/status")
    assert h.case_code in h.last(RESIDENT).text and not told(h)

    h.clock.current = local(23, 6, 59)  # 23:59 UTC on the 22nd
    await sweep(h)
    assert not told(h)
    h.clock.current = local(23, 7)
    await sweep(h)
    assert told(h)
    assert [status for status, _, _ in await notice_rows(h)] == ["sent"]


async def test_a_move_in_the_afternoon_is_told_at_once_one_at_nine_in_the_evening_waits(officer):
    h = officer
    h.clock.current = local(22, 14)
    await classify(h)
    assert told(h)
    assert await notice_rows(h) == [("sent", local(22, 14), None)]
    h.clock.current = local(22, 21)
    await verify(h)
    assert "Step 3/5" in h.last(OFFICER).text
    assert len(told_texts(h)) == 1
    assert sorted(await notice_rows(h)) == [("pending", local(23, 7), None), ("sent", local(22, 14), None)]


async def test_a_move_just_before_seven_waits_a_minute_not_a_day(officer):
    h = officer
    h.clock.current = local(23, 6, 59)  # 23:59 UTC on the 22nd: the UTC date is still yesterday's
    await classify(h)
    assert not told(h)
    assert await notice_rows(h) == [("pending", datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc), None)]
    h.clock.current = local(23, 7)
    await sweep(h)
    assert told(h)


async def test_a_reporter_acting_on_their_own_case_is_told_at_once(ward):
    h = ward
    await h.send(user=RESIDENT, text=f"/start {CODE_OFFICER}")  # the reporter is an officer too
    h.clock.current = local(22, 23)
    await classify(h, user=RESIDENT)
    assert told(h)


# --- the setting ----------------------------------------------------------------------------

async def test_quiet_hours_off_sends_at_once(uow_factory, monkeypatch):
    monkeypatch.setenv("HOAGIAI_QUIET_HOURS", "off")
    config = core_config(load_settings())
    assert config.quiet_hours.is_quiet(local(22, 23).astimezone(HANOI).time()) is False
    h = Harness(uow_factory, config)
    await load_demo_ward(uow_factory)
    await make_invite(h, CODE_OFFICER, "officer", POLICE_CODE)
    await consent(h, RESIDENT)
    await report(h, RESIDENT)
    h.case_code = CODE.search(h.last(RESIDENT).text).group(0)
    await become(h, OFFICER, CODE_OFFICER)
    h.clock.current = local(22, 23)
    await classify(h)
    assert told(h)


def test_the_setting_takes_local_hours(monkeypatch):
    monkeypatch.setenv("HOAGIAI_QUIET_HOURS", "22:30-06:00")
    assert load_settings().quiet_period == QuietHours(start=time(22, 30), end=time(6, 0))
    monkeypatch.delenv("HOAGIAI_QUIET_HOURS")
    assert core_config(load_settings(_env_file=None)).quiet_hours == QuietHours()


@pytest.mark.parametrize("value", ["9pm-7am", "21-07", "24:00-07:00", "21:00-07:60", "21:00", "07:00-07:00"])
def test_a_bad_setting_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("HOAGIAI_QUIET_HOURS", value)
    with pytest.raises(ValidationError, match="HOAGIAI_QUIET_HOURS"):
        load_settings()


# --- the outbox and the dispatcher ----------------------------------------------------------

async def test_a_held_message_is_stored_pending_even_with_a_lease(uow_factory):
    now, later = local(22, 22, 30), local(23, 7)
    async with uow_factory() as uow:
        held = await uow.outbox.add(Outgoing("web", "a", Reply("morning"), not_before=later), now, 120, "w1")
        due = await uow.outbox.add(Outgoing("web", "a", Reply("now"), not_before=now), now, 120, "w1")
        await uow.commit()
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(OutboxRow.id, OutboxRow.status, OutboxRow.next_attempt_at, OutboxRow.lease_until,
                   OutboxRow.lease_owner, OutboxRow.attempts).order_by(OutboxRow.id))
        assert [tuple(row) for row in rows] == [
            (held, "pending", later, None, None, 0),
            (due, "sending", now, now + timedelta(seconds=120), "w1", 1),
        ]
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(due, now)
        assert await uow.outbox.claim_due(["web"], later - timedelta(seconds=1), 10, 60, "w2") == []
        claimed = await uow.outbox.claim_due(["web"], later, 10, 60, "w2")
        await uow.commit()
    assert [message.id for message in claimed] == [held]


async def test_the_dispatcher_hands_over_only_what_may_go_now(uow_factory, monkeypatch):
    h = Harness(uow_factory)
    h.clock.current = local(22, 22, 30)
    later = local(23, 7)

    async def replies(conv):
        return [conv.say("now"), conv.reply(Reply("morning"), not_before=later)]

    monkeypatch.setattr(services, "before_consent", replies)
    await h.send(text="hello")
    assert [reply.text for reply in h.replies()] == ["now"]
    h.clock.current = later
    await sweep(h)
    assert [reply.text for reply in h.replies()] == ["now", "morning"]
