"""Storage against real databases: migrations, every repository, races and privacy rules.

Each test runs on SQLite and, with HOAGIAI_TEST_POSTGRES_URL set, on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.domain.model import FormSession, NewCase
from handlers.messages import Choice, FileRef, Outgoing, Reply
from handlers.ports import ConcurrencyConflict, DuplicateUpdate
from storage.demo import load_demo_ward
from storage.engine import create_engine
from storage.migrate import (
    DatabaseNotMigrated, current_revision, head_revisions, is_up_to_date, require_up_to_date, upgrade,
)
from storage.tables import Base, CaseRow, InboundUpdateRow, OutboxRow, UnitRow

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
HANOI = timezone(timedelta(hours=7))


async def scalar(uow_factory, sql: str, **params):
    async with uow_factory() as uow:
        return (await uow.session.execute(text(sql), params)).scalar_one()


async def new_person(uow_factory, external_id: str = "100"):
    async with uow_factory() as uow:
        person = await uow.people.create(platform="telegram", external_id=external_id, display_name="Lan",
                                         language="vi", consent_version="2026-11", now=NOW)
        await uow.commit()
    return person


def new_case(reporter_id: int | None, *, group_id: int | None = None, at: datetime = NOW, year: int = 2026) -> NewCase:
    return NewCase(
        kind="dispute", field="land", commune_unit_id=None, group_unit_id=group_id, address="Ngõ 7",
        latitude=21.03, longitude=105.85, summary="Tranh chấp ranh giới đất", people_count=5,
        danger_now=False, urgent=True, urgency_reasons=["weapon"], reporter_id=reporter_id,
        contact_phone="0912345678", created_at=at, code_year=year, channel="telegram",
    )


def outgoing(chat_id: str = "100", text_: str = "Xin chào", **options) -> Outgoing:
    reply = Reply(text=text_, buttons=((Choice("Đồng ý", "c:y:vi"),),))
    return Outgoing(channel="telegram", chat_id=chat_id, reply=reply, **options)


# --- migrations -----------------------------------------------------------------------------

async def test_unmigrated_database_is_refused_then_upgraded(database_url):
    assert await current_revision(database_url) is None
    assert not await is_up_to_date(database_url)
    with pytest.raises(DatabaseNotMigrated, match="hoagiai db upgrade"):
        await require_up_to_date(database_url)

    await upgrade(database_url)
    await upgrade(database_url)  # a second run is a no-op
    assert await current_revision(database_url) in head_revisions()
    assert await is_up_to_date(database_url)
    await require_up_to_date(database_url)

    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    finally:
        await engine.dispose()
    with pytest.raises(DatabaseNotMigrated, match="newer"):
        await require_up_to_date(database_url)


async def test_migration_matches_the_models(engine):
    async with engine.connect() as connection:
        def check(sync):
            context = MigrationContext.configure(sync, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
            checks = {c["name"] for t in ("units", "outbox") for c in inspect(sync).get_check_constraints(t)}
            return diff, checks

        diff, checks = await connection.run_sync(check)
    assert diff == []
    assert checks == {"ck_units_kind", "ck_outbox_status"}


async def test_upgrade_keeps_existing_cases_and_their_units(database_url):
    """0002 rebuilds `units` and `cases` on SQLite; rows referencing them must survive."""
    await upgrade(database_url, "0001")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO units (id, code, name, kind, sort_order) VALUES (1, 'w', 'Phường', 'commune', 0)")
            await connection.exec_driver_sql(
                "INSERT INTO units (id, code, name, kind, parent_id, sort_order) VALUES (2, 'g', 'Tổ 1', 'group', 1, 1)")
            await connection.execute(text(
                "INSERT INTO cases (code, kind, field, urgent, urgency_reasons, danger_now, step, status, "
                "group_unit_id, summary, confidential, channel, created_at, updated_at, version) VALUES "
                "('HG-2026-000001', 'dispute', 'land', false, '[]', false, 1, 'new', 2, 'Tranh chấp', false, "
                "'telegram', :at, :at, 1)"), {"at": NOW})
        await upgrade(database_url)
        async with engine.connect() as connection:
            row = (await connection.exec_driver_sql(
                "SELECT c.code, u.name, c.reopen_count FROM cases c JOIN units u ON u.id = c.group_unit_id")).one()
            await connection.exec_driver_sql(
                "INSERT INTO units (id, code, name, kind, parent_id, sort_order) VALUES (3, 't', 'Tổ hòa giải', 'team', 2, 0)")
    finally:
        await engine.dispose()
    assert tuple(row) == ("HG-2026-000001", "Tổ 1", 0)


async def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'x.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = {name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    finally:
        await engine.dispose()
    assert (tmp_path / "new" / "dir" / "x.db").exists()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}


# --- inbound updates ------------------------------------------------------------------------

async def test_inbound_update_recorded_once(uow_factory):
    async with uow_factory() as uow:
        assert not await uow.updates.seen("telegram", "1", "42")
        await uow.updates.record("telegram", "1", "42", NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.updates.seen("telegram", "1", "42")
        assert not await uow.updates.seen("telegram", "2", "42")  # another bot
        with pytest.raises(DuplicateUpdate):
            await uow.updates.record("telegram", "1", "42", NOW)


async def test_duplicate_update_detected_at_commit(uow_factory):
    async with uow_factory() as uow:
        await uow.updates.record("telegram", "1", "7", NOW)
        await uow.commit()
    with pytest.raises(DuplicateUpdate):
        async with uow_factory() as uow:
            uow.session.add(InboundUpdateRow(platform="telegram", bot_id="1", update_id="7", received_at=NOW))
            await uow.commit()


async def test_twin_updates_racing_are_handled_once(uow_factory):
    async def handle():
        async with uow_factory() as uow:
            if await uow.updates.seen("telegram", "1", "99"):
                return "seen"
            await uow.updates.record("telegram", "1", "99", NOW)
            await uow.outbox.add(outgoing(), NOW)
            await asyncio.sleep(0.05)
            await uow.commit()
            return "handled"

    outcomes = await asyncio.gather(handle(), handle(), return_exceptions=True)
    assert outcomes.count("handled") == 1
    other = next(o for o in outcomes if o != "handled")
    assert other == "seen" or isinstance(other, DuplicateUpdate), other
    assert await scalar(uow_factory, "select count(*) from outbox") == 1


async def test_concurrent_read_then_write_transactions_do_not_fail(uow_factory):
    """SQLite: a deferred BEGIN would fail one of them with "database is locked"."""
    async def read_then_write(n):
        async with uow_factory() as uow:
            await uow.updates.seen("telegram", "1", str(n))
            await asyncio.sleep(0.02)
            await uow.updates.record("telegram", "1", str(n), NOW)
            await uow.outbox.add(outgoing(), NOW)
            await uow.commit()

    await asyncio.gather(*(read_then_write(n) for n in range(5)))
    assert await scalar(uow_factory, "select count(*) from outbox") == 5


# --- people and units -----------------------------------------------------------------------

async def test_people(uow_factory):
    async with uow_factory() as uow:
        assert await uow.people.by_identity("telegram", "100") is None
    person = await new_person(uow_factory)
    assert person.language == "vi" and person.consent_version == "2026-11" and person.consent_at == NOW

    async with uow_factory() as uow:
        found = await uow.people.by_identity("telegram", "100")
        assert found == person
        assert await uow.people.by_identity("zalo", "100") is None
        await uow.people.set_language(person.id, "en")
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.people.by_identity("telegram", "100")).language == "en"

    with pytest.raises(ConcurrencyConflict):  # the same account consenting twice at once
        await new_person(uow_factory)


async def test_units_and_demo_ward(uow_factory):
    await load_demo_ward(uow_factory)
    async with uow_factory() as uow:
        uow.session.add(UnitRow(code="other-ward", name="Phường Khác", kind="commune", sort_order=5))
        await uow.commit()

    async with uow_factory() as uow:
        ward = await uow.units.ward(None)
        assert ward is not None and ward.code == "demo-ward" and ward.name == "Phường Hồng Hà"
        assert ward.kind == "commune" and ward.parent_id is None
        assert (await uow.units.ward("other-ward")).name == "Phường Khác"
        assert await uow.units.ward("nowhere") is None
        groups = await uow.units.groups(ward.id)
        assert [g.name for g in groups] == [f"Tổ dân phố số {n}" for n in range(1, 7)]
        assert [g.code for g in groups] == [f"demo-ward-tdp-{n}" for n in range(1, 7)]
        assert all(g.kind == "group" and g.parent_id == ward.id for g in groups)
        assert await uow.units.get(groups[2].id) == groups[2]
        assert await uow.units.get(10_000) is None


async def test_demo_ward_is_idempotent(engine, uow_factory):
    await load_demo_ward(uow_factory)
    async with uow_factory() as uow:
        before = (await uow.session.execute(select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.parent_id)
                                            .order_by(UnitRow.id))).all()
    await load_demo_ward(uow_factory)
    await load_demo_ward(async_sessionmaker(engine))  # a plain session maker works too
    async with uow_factory() as uow:
        after = (await uow.session.execute(select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.parent_id)
                                           .order_by(UnitRow.id))).all()
    assert after == before and len(after) == 19  # ward, 6 groups, 6 departments, 6 mediation teams
    names = {code: name for _, code, name, _ in after}
    assert names["demo-ward-police"] == "Công an phường"
    assert all(unicodedata.is_normalized("NFC", name) for name in names.values())


# --- forms ----------------------------------------------------------------------------------

def form_for(person_id: int, **changes) -> FormSession:
    values = dict(id=None, person_id=person_id, form="dispute", step="field",
                  answers={"field": "land", "files": [{"kind": "photo"}], "note": "Nhà bên cạnh"},
                  expires_at=NOW + timedelta(hours=24), created_at=NOW, updated_at=NOW,
                  platform="telegram", chat_id="100")
    values.update(changes)
    return FormSession(**values)


async def test_form_sessions(uow_factory):
    person = await new_person(uow_factory)
    async with uow_factory() as uow:
        assert await uow.forms.active(person.id) is None
        stored = await uow.forms.save(form_for(person.id))
        await uow.commit()
    assert stored.id is not None and stored.version == 0

    async with uow_factory() as uow:
        loaded = await uow.forms.active(person.id)
        assert loaded == stored
        loaded.step, loaded.answers = "group", {**loaded.answers, "group_id": 3}
        saved = await uow.forms.save(loaded)
        await uow.commit()
    assert saved.version == 1 and saved.id == stored.id

    async with uow_factory() as uow:  # the same object saved twice in one transaction
        saved.step = "address"
        await uow.forms.save(saved)
        saved.step = "group"
        await uow.forms.save(saved)
        await uow.commit()
    assert saved.version == 3
    async with uow_factory() as uow:
        again = await uow.forms.active(person.id)
        assert again.step == "group" and again.answers["group_id"] == 3 and again.version == 3

    async with uow_factory() as uow:  # one open form per person
        with pytest.raises(ConcurrencyConflict):
            await uow.forms.save(form_for(person.id))

    async with uow_factory() as uow:
        await uow.forms.delete(stored.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.forms.active(person.id) is None


async def test_form_save_conflict(uow_factory):
    person = await new_person(uow_factory)
    async with uow_factory() as uow:
        await uow.forms.save(form_for(person.id))
        await uow.commit()
    copies = []
    for _ in range(2):  # two updates load the same version 0
        async with uow_factory() as uow:
            copies.append(await uow.forms.active(person.id))
    first, second = copies
    assert first.version == second.version == 0

    async with uow_factory() as uow:
        first.step = "group"
        await uow.forms.save(first)
        await uow.commit()
    async with uow_factory() as uow:
        second.step = "address"
        with pytest.raises(ConcurrencyConflict):
            await uow.forms.save(second)
    async with uow_factory() as uow:
        assert (await uow.forms.active(person.id)).step == "group"


async def test_purge_expired_forms(uow_factory):
    people = [await new_person(uow_factory, str(n)) for n in range(3)]
    async with uow_factory() as uow:
        for hours, person in zip((-1, 0, 5), people):
            await uow.forms.save(form_for(person.id, expires_at=NOW + timedelta(hours=hours)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.forms.purge_expired(NOW) == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.forms.active(people[2].id) is not None


# --- cases ----------------------------------------------------------------------------------

async def test_cases_codes_events_and_attachments(uow_factory):
    await load_demo_ward(uow_factory)
    person = await new_person(uow_factory)
    async with uow_factory() as uow:
        group = (await uow.units.groups((await uow.units.ward(None)).id))[0]
        first = await uow.cases.add(new_case(person.id, group_id=group.id))
        second = await uow.cases.add(new_case(person.id, at=NOW + timedelta(minutes=5), year=2027))
        await uow.cases.add_event(first.id, actor_id=person.id, kind="created",
                                  data={"urgent": True, "reasons": ["weapon"]}, at=NOW)
        await uow.cases.add_attachment(first.id, "telegram", FileRef("photo", "file-1", "a" * 64, 1234, "image/jpeg"), NOW)
        await uow.commit()

    assert first.code == f"HG-2026-{first.id:06d}" and second.code == f"HG-2027-{second.id:06d}"
    assert re.fullmatch(r"HG-\d{4}-\d{6}", first.code)
    assert first.group_unit_id == group.id and first.urgent and first.status == "new" and first.step == 1
    assert first.version == 1

    async with uow_factory() as uow:
        mine = await uow.cases.for_reporter(person.id)
        assert [c.code for c in mine] == [second.code, first.code]  # newest first
        assert [c.code for c in await uow.cases.for_reporter(person.id, limit=1)] == [second.code]
        assert await uow.cases.for_reporter(person.id + 1) == []
        row = await uow.session.get(CaseRow, first.id)
        assert row.urgency_reasons == ["weapon"] and row.contact_phone == "0912345678" and not row.confidential
    assert await scalar(uow_factory, "select count(*) from case_events where kind = 'created'") == 1
    assert await scalar(uow_factory, "select size from attachments where sha256 = :h", h="a" * 64) == 1234


async def test_case_version_conflict(uow_factory):
    async with uow_factory() as uow:
        case = await uow.cases.add(new_case(None))
        await uow.commit()
    with pytest.raises(ConcurrencyConflict):
        async with uow_factory() as uow:
            row = await uow.session.get(CaseRow, case.id)
            # someone else updates the case after we loaded it
            await uow.session.execute(update(CaseRow.__table__).where(CaseRow.id == case.id)
                                      .values(version=CaseRow.version + 1))
            row.status = "accepted"
            await uow.commit()


# --- outbox ---------------------------------------------------------------------------------

async def test_outbox_add_and_dedupe(uow_factory):
    async with uow_factory() as uow:
        first = await uow.outbox.add(outgoing(dedupe_key="alert:case:1", urgent=True, extra={"case": 1}), NOW)
        again = await uow.outbox.add(outgoing(dedupe_key="alert:case:1"), NOW)
        other = await uow.outbox.add(outgoing(), NOW)
        plain = await uow.outbox.add(outgoing(), NOW)
        await uow.commit()
    assert first == again and len({first, other, plain}) == 3
    async with uow_factory() as uow:  # also across transactions
        assert await uow.outbox.add(outgoing(dedupe_key="alert:case:1"), NOW) == first
        await uow.commit()
    assert await scalar(uow_factory, "select count(*) from outbox") == 3

    async with uow_factory() as uow:
        claimed = {m.id: m for m in await uow.outbox.claim_due(["telegram"], NOW, 10, 60)}
        await uow.commit()
    message = claimed[first]
    assert message.urgent and message.extra == {"case": 1} and message.dedupe_key == "alert:case:1"
    assert message.chat_id == "100" and message.attempts == 1
    assert Reply.from_payload(message.payload) == outgoing().reply
    stored = await scalar(uow_factory, "select cast(payload as text) from outbox where id = :id", id=first)
    assert "Xin chào" in stored  # readable, not \u-escaped


async def test_claim_due_leases_and_reclaims(uow_factory):
    async with uow_factory() as uow:
        due = await uow.outbox.add(outgoing(), NOW)
        later = await uow.outbox.add(outgoing(), NOW + timedelta(minutes=10))
        await uow.outbox.add(Outgoing(channel="zalo", chat_id="z", reply=Reply("hi")), NOW)
        await uow.commit()

    async def claim(now, channels=("telegram",), limit=10):
        async with uow_factory() as uow:
            claimed = await uow.outbox.claim_due(list(channels), now, limit, 60)
            await uow.commit()
        return claimed

    assert [m.id for m in await claim(NOW)] == [due]
    assert await claim(NOW + timedelta(seconds=30)) == []  # leased
    reclaimed = await claim(NOW + timedelta(seconds=61))  # the sender died: lease ran out
    assert [(m.id, m.attempts) for m in reclaimed] == [(due, 2)]
    assert await claim(NOW, channels=()) == []
    assert [m.id for m in await claim(NOW + timedelta(minutes=10), limit=1)] == [due]  # oldest first
    assert [m.id for m in await claim(NOW + timedelta(minutes=10))] == [later]


async def test_outbox_retry_sent_failed(uow_factory):
    async with uow_factory() as uow:
        ids = [await uow.outbox.add(outgoing(), NOW) for _ in range(3)]
        claimed = await uow.outbox.claim_due(["telegram"], NOW, 10, 60)
        await uow.commit()
    assert [m.id for m in claimed] == ids
    retry, sent, failed = ids
    async with uow_factory() as uow:
        await uow.outbox.mark_retry(retry, "timeout" * 1000, NOW + timedelta(minutes=5))
        await uow.outbox.mark_sent(sent, NOW + timedelta(seconds=1))
        await uow.outbox.mark_failed(failed, "blocked", NOW)
        await uow.commit()

    async with uow_factory() as uow:
        rows = {r.id: r for r in await uow.session.scalars(select(OutboxRow))}
        assert await uow.outbox.claim_due(["telegram"], NOW + timedelta(minutes=4), 10, 60) == []
        assert [m.id for m in await uow.outbox.claim_due(["telegram"], NOW + timedelta(minutes=5), 10, 60)] == [retry]
        assert rows[retry].status == "pending" and rows[retry].lease_until is None and len(rows[retry].last_error) <= 2000
        assert rows[sent].status == "sent" and rows[sent].sent_at == NOW + timedelta(seconds=1)
        assert rows[sent].payload is not None and rows[sent].chat_id == "100"  # not ephemeral: kept
        assert rows[failed].status == "failed" and rows[failed].last_error == "blocked"


async def test_ephemeral_messages_are_scrubbed_once_sent(uow_factory):
    async with uow_factory() as uow:
        message_id = await uow.outbox.add(outgoing(ephemeral=True), NOW)
        kept_id = await uow.outbox.add(outgoing(), NOW)
        await uow.outbox.claim_due(["telegram"], NOW, 10, 60)
        await uow.commit()
    assert await scalar(uow_factory, "select count(*) from outbox where payload is not null") == 2
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(message_id, NOW)
        await uow.outbox.mark_sent(kept_id, NOW)
        await uow.commit()
    assert await scalar(uow_factory, "select count(*) from outbox where payload is null and chat_id is null") == 1
    assert await scalar(uow_factory, "select id from outbox where payload is not null") == kept_id


async def test_concurrent_claimers_never_share_a_row(uow_factory):
    async with uow_factory() as uow:
        ids = {await uow.outbox.add(outgoing(chat_id=str(n)), NOW) for n in range(50)}
        await uow.commit()

    async def claimer():
        async with uow_factory() as uow:
            claimed = await uow.outbox.claim_due(["telegram"], NOW, 20, 60)
            await asyncio.sleep(0.05)  # hold the claim open while the others run
            await uow.commit()
        return [m.id for m in claimed]

    batches = await asyncio.gather(*(claimer() for _ in range(4)))
    claimed = [message_id for batch in batches for message_id in batch]
    assert len(claimed) == len(set(claimed)) == 50
    assert set(claimed) == ids


# --- time -----------------------------------------------------------------------------------

async def test_datetimes_are_aware_utc(uow_factory):
    local = datetime(2026, 11, 22, 16, 30, tzinfo=HANOI)  # 09:30 UTC
    async with uow_factory() as uow:
        person = await uow.people.create(platform="web", external_id="w1", display_name=None,
                                         language="vi", consent_version="v", now=local)
        message_id = await uow.outbox.add(outgoing(), local)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.people.by_identity("web", "w1")
        next_attempt_at = (await uow.session.get(OutboxRow, message_id)).next_attempt_at
    assert found.id == person.id and found.consent_at == local
    assert found.consent_at.utcoffset() == timedelta(0) and found.consent_at.hour == 9
    assert next_attempt_at.tzinfo is not None and next_attempt_at == local

    # comparisons in SQL hold whatever zone the caller used
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(["telegram"], datetime(2026, 11, 22, 9, 29, tzinfo=timezone.utc), 10, 60) == []
        assert len(await uow.outbox.claim_due(["telegram"], datetime(2026, 11, 22, 16, 31, tzinfo=HANOI), 10, 60)) == 1


async def test_naive_datetimes_are_refused(uow_factory):
    with pytest.raises(Exception, match="naive datetime"):
        async with uow_factory() as uow:
            await uow.updates.record("telegram", "1", "naive", datetime(2026, 1, 1))


async def test_person_lookup_brings_the_open_form_and_it_stays_correct(uow_factory):
    """by_identity loads the open form in the same query; active() must still be right after
    the form is saved or deleted in the same transaction."""
    from datetime import datetime, timedelta, timezone

    from handlers.domain.model import FormSession

    now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    async with uow_factory() as uow:
        person = await uow.people.create(platform="web", external_id="pf", display_name=None,
                                         language="vi", consent_version="v", now=now)
        await uow.forms.save(FormSession(None, person.id, "dispute", "field", {"_t": "a", "k": "đ"},
                                         now + timedelta(hours=1), now, now))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.people.by_identity("web", "pf")).id == person.id
        form = await uow.forms.active(person.id)
        assert form.answers == {"_t": "a", "k": "đ"} and form.expires_at == now + timedelta(hours=1)
        form.step = "group"
        await uow.forms.save(form)
        assert (await uow.forms.active(person.id)).step == "group"
        await uow.forms.delete(form.id)
        assert await uow.forms.active(person.id) is None
        await uow.commit()
    async with uow_factory() as uow:
        await uow.people.by_identity("web", "pf")
        assert await uow.forms.active(person.id) is None
