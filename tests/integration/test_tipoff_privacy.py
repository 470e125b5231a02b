"""Tip-offs and people's rights over real databases: erasing a person deletes the sealed
identities of the confidential tip-offs they made (found by opening them, since nothing in
plaintext links a reporter to a tip-off), and retention deletes those of long-closed cases.
Each test runs on SQLite and, with HOAGIAI_TEST_POSTGRES_URL set, on PostgreSQL too.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

import storage.tipoffs
from scheduler.retention import anonymise_old_cases
from storage.identity_vault import IdentityVault, new_key
from storage.privacy import SqlPrivacyRepo
from storage.uow import make_uow_factory
from tests.integration.test_tipoff_storage import tipoff_case

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
ALICE, BOB = "111", "222"


class Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def key():
    return new_key()


@pytest.fixture
def factory(engine, key):
    return make_uow_factory(engine, IdentityVault.of([key]))


def privacy(uow) -> SqlPrivacyRepo:
    """The privacy repo over the unit of work's tip-offs, which hold the identity keys."""
    return SqlPrivacyRepo(uow.session, uow.tipoffs)


async def person(factory, account: str) -> int:
    async with factory() as uow:
        created = await uow.people.create(platform="telegram", external_id=account, display_name="Test",
                                          language="vi", consent_version="1", now=NOW)
        await uow.commit()
    return created.id


def identity_of(person_id: int, account: str) -> dict:
    return {"person_id": person_id, "platform": "telegram", "external_id": account, "chat_id": account,
            "display_name": "Nguyễn Văn An", "phone": None}


async def tipoff(factory, identity: dict | None) -> tuple[int, int]:
    """A tip-off (confidential with `identity`, else anonymous): (case id, tip-off id)."""
    async with factory() as uow:
        case = await uow.cases.add(tipoff_case())
        issued = await uow.tipoffs.create(case.id, "confidential" if identity else "anonymous", False, identity, NOW)
        await uow.commit()
    return case.id, issued.tipoff_id


async def rows(factory, sql: str, **params) -> list[tuple]:
    async with factory() as uow:
        return [tuple(row) for row in await uow.session.execute(text(sql), params)]


async def identity_ids(factory) -> dict[int, int | None]:
    """tipoffs.id -> tipoffs.identity_id, as plain SQL sees them."""
    return dict(await rows(factory, "SELECT id, identity_id FROM tipoffs"))


async def sealed_ids(factory) -> set[int]:
    return {found for (found,) in await rows(factory, "SELECT id FROM sealed_identities")}


async def close(factory, case_id: int, at: datetime) -> None:
    async with factory() as uow:
        await uow.session.execute(text("UPDATE cases SET status = 'closed', step = 5, closed_at = :at WHERE id = :id"),
                                  {"at": at, "id": case_id})
        await uow.commit()


# --- erasure --------------------------------------------------------------------------------------

async def test_erase_deletes_exactly_the_persons_tipoff_identities(factory, monkeypatch):
    monkeypatch.setattr(storage.tipoffs, "FORGET_BATCH", 1)  # several batches
    alice, bob = await person(factory, ALICE), await person(factory, BOB)
    _, first = await tipoff(factory, identity_of(alice, ALICE))
    _, bobs = await tipoff(factory, identity_of(bob, BOB))
    _, second = await tipoff(factory, identity_of(alice, ALICE))
    _, anonymous = await tipoff(factory, None)
    before = await identity_ids(factory)
    assert before[anonymous] is None and all(before[t] for t in (first, second, bobs))

    async with factory() as uow:
        done = await privacy(uow).erase(alice, NOW)
        await uow.commit()
    assert (done["tipoff_identities"], done["tipoff_identities_skipped"]) == (2, 0)

    assert await rows(factory, "SELECT count(*) FROM cases") == [(4,)]  # cases and tip-offs stay
    after = await identity_ids(factory)
    assert set(after) == {first, second, bobs, anonymous}
    assert (after[first], after[second], after[anonymous]) == (None, None, None)
    assert after[bobs] == before[bobs]
    assert await sealed_ids(factory) == {before[bobs]}
    async with factory() as uow:
        assert await uow.tipoffs.reporter_chat(first) is None
        assert await uow.tipoffs.reporter_chat(second) is None
        assert not (await uow.tipoffs.get(first)).has_identity
        assert await uow.tipoffs.reporter_chat(bobs) == ("telegram", BOB)
        assert (await uow.identities.get(before[bobs]))["person_id"] == bob


async def test_erase_of_someone_without_tipoffs_leaves_every_identity(factory):
    alice, bob = await person(factory, ALICE), await person(factory, BOB)
    _, bobs = await tipoff(factory, identity_of(bob, BOB))
    async with factory() as uow:
        done = await privacy(uow).erase(alice, NOW)
        await uow.commit()
    assert (done["tipoff_identities"], done["tipoff_identities_skipped"]) == (0, 0)
    assert len(await sealed_ids(factory)) == 1 and (await identity_ids(factory))[bobs] is not None


async def test_an_identity_no_key_opens_is_skipped_and_counted(engine, factory):
    alice = await person(factory, ALICE)
    dropped = make_uow_factory(engine, IdentityVault.of([new_key()]))  # a key no longer configured
    _, lost = await tipoff(dropped, identity_of(alice, ALICE))
    _, readable = await tipoff(factory, identity_of(alice, ALICE))
    before = await identity_ids(factory)

    async with factory() as uow:
        done = await privacy(uow).erase(alice, NOW)
        await uow.commit()
    assert (done["tipoff_identities"], done["tipoff_identities_skipped"]) == (1, 1)
    after = await identity_ids(factory)
    assert after[readable] is None
    assert after[lost] == before[lost] and await sealed_ids(factory) == {before[lost]}  # nobody can tell whose
    [(deleted_at,)] = await rows(factory, "SELECT deleted_at FROM people WHERE id = :id", id=alice)
    assert deleted_at is not None  # the rest of the erasure was done


async def test_the_unit_of_works_privacy_repo_can_open_identities(factory):
    """uow.privacy, as the /privacy handler calls it, reaches the identity keys."""
    alice = await person(factory, ALICE)
    _, mine = await tipoff(factory, identity_of(alice, ALICE))
    async with factory() as uow:
        done = await uow.privacy.erase(alice, NOW)
        await uow.commit()
    assert done["tipoff_identities"] == 1
    assert (await identity_ids(factory))[mine] is None and await sealed_ids(factory) == set()


# --- retention ------------------------------------------------------------------------------------

async def test_retention_deletes_identities_of_tipoffs_closed_before_the_cutoff(factory):
    alice = await person(factory, ALICE)
    old_case, old = await tipoff(factory, identity_of(alice, ALICE))
    recent_case, recent = await tipoff(factory, identity_of(alice, ALICE))
    _, open_ = await tipoff(factory, identity_of(alice, ALICE))
    await close(factory, old_case, NOW - timedelta(days=6 * 365))
    await close(factory, recent_case, NOW - timedelta(days=365))
    before = await identity_ids(factory)

    assert await anonymise_old_cases(factory, Clock(), 5) == 1
    after = await identity_ids(factory)
    assert after[old] is None and (after[recent], after[open_]) == (before[recent], before[open_])
    assert await sealed_ids(factory) == {before[recent], before[open_]}
    [(closed_at,)] = await rows(factory, "SELECT closed_at FROM cases WHERE id = :id", id=old_case)
    assert closed_at is not None  # the case itself stays
    assert await anonymise_old_cases(factory, Clock(), 5) == 0  # nothing more to do


async def test_retention_keeps_its_limit_with_tipoffs(factory):
    alice = await person(factory, ALICE)
    cases = [await tipoff(factory, identity_of(alice, ALICE)) for _ in range(3)]
    for case_id, _ in cases:
        await close(factory, case_id, NOW - timedelta(days=6 * 365))
    cutoff = NOW - timedelta(days=5 * 365)

    for anonymised, left in ((2, 1), (1, 0), (0, 0)):
        async with factory() as uow:
            assert await uow.privacy.anonymise_closed(cutoff, 2) == anonymised
            await uow.commit()
        assert len(await sealed_ids(factory)) == left
