"""Sealed identities on real databases: nothing readable at rest, the unit of work's repository,
the start-up wiring, and `hoagiai keys generate|rotate|status` as an operator runs them.

Each test runs on SQLite and, with HOAGIAI_TEST_POSTGRES_URL set, on PostgreSQL too.
"""

from __future__ import annotations

import base64
import logging
import stat
import unicodedata
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet

from bot.bootstrap import build
from bot.config import load_settings
from storage.identity_vault import IdentityVault, SealBroken, VaultMissing, key_hint, new_key, read_key_file
from storage.uow import make_uow_factory
from tests.integration.cli_runner import cli_runner

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
KEY_A, KEY_B, KEY_C = new_key(), new_key(), new_key()
HINT_A, HINT_B, HINT_C = key_hint(KEY_A), key_hint(KEY_B), key_hint(KEY_C)
NAME, PHONE, ACCOUNT = "Nguyễn Văn An", "0912345678", "987654321"
IDENTITY = {"name": NAME, "phone": PHONE, "platform": "telegram", "external_id": ACCOUNT,
            "address": "Số 5, ngõ 12, Tổ dân phố số 3"}


def vault(*keys: str) -> IdentityVault:
    return IdentityVault.of(list(keys), source="HOAGIAI_IDENTITY_KEYS")


def person(n: int) -> dict[str, str]:
    return {"name": f"Trần Thị Bình {n}", "phone": f"09{n:08d}"}


async def seal(engine, keys: tuple[str, ...], identities: list[dict]) -> list[int]:
    async with make_uow_factory(engine, vault(*keys))() as uow:
        ids = [await uow.identities.add(identity, NOW) for identity in identities]
        await uow.commit()
    return ids


async def raw_rows(engine) -> list[tuple]:
    """The table as plain SQL sees it: what a dump, a backup or a curious officer would read."""
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("SELECT * FROM sealed_identities ORDER BY id")
        return [tuple(row) for row in result]


async def open_all(engine, keys: tuple[str, ...]) -> list[dict | None]:
    async with make_uow_factory(engine, vault(*keys))() as uow:
        ids = [row[0] for row in await raw_rows(engine)]
        return [await uow.identities.get(identity_id) for identity_id in ids]


def readable_forms(value: object) -> list[bytes]:
    """A column's value as bytes, and, for a token, its base64-decoded bytes too."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        forms = [data]
        try:
            forms.append(base64.urlsafe_b64decode(data))
        except ValueError:
            pass
        return forms
    return [str(value).encode("utf-8")]


# --- the table and the repository ---------------------------------------------------------------

async def test_the_raw_table_holds_no_plaintext(engine):
    (identity_id,) = await seal(engine, (KEY_A,), [IDENTITY])
    rows = await raw_rows(engine)
    assert len(rows) == 1 and rows[0][0] == identity_id
    needles = [NAME, unicodedata.normalize("NFD", NAME), "Nguyen Van An", "Nguy", PHONE, ACCOUNT, "telegram", "ngõ"]
    for column in rows[0]:
        for form in readable_forms(column):
            for needle in needles:
                assert needle.encode("utf-8") not in form, f"{needle!r} readable in sealed_identities"
    async with make_uow_factory(engine, vault(KEY_A))() as uow:
        assert await uow.identities.get(identity_id) == IDENTITY
    (row,) = await raw_rows(engine)
    assert Fernet(KEY_A).decrypt(bytes(row[1]))  # the column is the Fernet token itself
    assert row[2] == HINT_A and row[4] is None


async def test_get_delete_and_a_row_no_key_opens(engine):
    first, second = await seal(engine, (KEY_A,), [IDENTITY, person(1)])
    (foreign,) = await seal(engine, (KEY_C,), [person(2)])
    async with make_uow_factory(engine, vault(KEY_A))() as uow:
        await uow.identities.delete(first)
        await uow.identities.delete(999)  # already gone: no error
        await uow.commit()
    async with make_uow_factory(engine, vault(KEY_A))() as uow:
        assert await uow.identities.get(first) is None
        assert await uow.identities.get(second) == person(1)
        with pytest.raises(SealBroken, match=f"sealed identity {foreign}: no configured identity key opens"):
            await uow.identities.get(foreign)


async def test_a_unit_of_work_without_a_vault_says_so(engine):
    async with make_uow_factory(engine)() as uow:
        with pytest.raises(VaultMissing, match=r"make_uow_factory\(engine, vault\)"):
            await uow.identities.add(IDENTITY, NOW)
        with pytest.raises(VaultMissing):
            await uow.identities.get(1)


async def test_the_bot_creates_its_key_file_once_and_seals_with_it(database_url, engine, tmp_path, monkeypatch, caplog):
    """The demo on a fresh machine: no HOAGIAI_IDENTITY_KEYS, no key file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOAGIAI_IDENTITY_KEYS", raising=False)
    monkeypatch.delenv("HOAGIAI_IDENTITY_KEY_FILE", raising=False)
    settings = load_settings(database_url=database_url, _env_file=None)
    with caplog.at_level(logging.WARNING, logger="hoagiai.identity"):
        containers = [build(settings), build(settings)]
    key_file = tmp_path / "data" / "identity.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len([r for r in caplog.records if r.name == "hoagiai.identity"]) == 1
    (key,) = read_key_file(key_file)
    assert key not in caplog.text
    try:
        async with containers[0].uow_factory() as uow:
            identity_id = await uow.identities.add(IDENTITY, NOW)
            await uow.commit()
        async with containers[1].uow_factory() as uow:
            assert await uow.identities.get(identity_id) == IDENTITY
    finally:
        for container in containers:
            await container.engine.dispose()
    assert [row[2] for row in await raw_rows(engine)] == [key_hint(key)]


# --- hoagiai keys ---------------------------------------------------------------------------------

@pytest.fixture
def keys(database_url, monkeypatch, tmp_path, capsys):
    """`hoagiai keys ARGS` in this process on the test's database: (exit code, stdout, stderr)."""
    return cli_runner("keys", database_url, monkeypatch, tmp_path, capsys)


async def test_rotate_moves_every_identity_to_the_new_key(engine, keys, monkeypatch):
    identities = [IDENTITY, person(1), person(2)]
    await seal(engine, (KEY_A,), identities)
    before = await raw_rows(engine)
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", f"{KEY_B},{KEY_A}")

    code, out, err = await keys("rotate")
    assert (code, err) == (0, "")
    assert out == f"rotated 3 sealed identities to key {HINT_B}; 0 already used it\n"
    code, out, err = await keys("rotate")  # nothing left to do
    assert (code, out) == (0, f"rotated 0 sealed identities to key {HINT_B}; 3 already used it\n")

    after = await raw_rows(engine)
    assert [row[2] for row in after] == [HINT_B] * 3
    assert all(row[4] is not None for row in after) and [row[3] for row in after] == [row[3] for row in before]
    assert all(bytes(new[1]) != bytes(old[1]) for new, old in zip(after, before))
    assert await open_all(engine, (KEY_B,)) == identities  # the old key can go


async def test_rotate_stops_at_a_row_no_key_opens_before_writing_its_batch(engine, keys, monkeypatch):
    await seal(engine, (KEY_A,), [person(1), person(2), person(3)])
    (foreign,) = await seal(engine, (KEY_C,), [person(4)])
    before = await raw_rows(engine)
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", f"{KEY_B},{KEY_A}")

    code, out, err = await keys("rotate")  # one batch of 500: nothing is written
    assert code == 2
    assert out == f"rotated 0 sealed identities to key {HINT_B} before stopping\n"
    assert f"no configured key opens sealed identity {foreign} (sealed with key {HINT_C})" in err
    assert "nothing of their batch was written" in err and "HOAGIAI_IDENTITY_KEYS" in err
    assert await raw_rows(engine) == before

    code, out, err = await keys("rotate", "--batch-size", "2")  # rows 1-2 rotate, the batch of 3-4 does not
    assert code == 2 and out == f"rotated 2 sealed identities to key {HINT_B} before stopping\n"
    assert f"sealed identity {foreign} " in err
    after = await raw_rows(engine)
    assert [row[2] for row in after] == [HINT_B, HINT_B, HINT_A, HINT_C]
    assert after[2:] == before[2:]
    for key in (KEY_A, KEY_B, KEY_C):
        assert key not in out + err


async def test_status_counts_identities_per_key(engine, keys, monkeypatch):
    await seal(engine, (KEY_A,), [person(n) for n in range(12)])
    await seal(engine, (KEY_B,), [person(12)])
    await seal(engine, (KEY_C,), [person(13)])
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", f"{KEY_B},{KEY_A}")
    code, out, err = await keys("status")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "keys from HOAGIAI_IDENTITY_KEYS (the first seals new identities):",
        f"  {HINT_B}  key 1, current",
        f"  {HINT_A}  key 2",
        "sealed identities by key:",
        f"  {HINT_B}   1  key 1, current",
        f"  {HINT_A}  12  key 2",
        f"  {HINT_C}   1  not configured: no key opens these",
    ]


async def test_status_from_the_key_file_and_without_any_key(engine, keys, monkeypatch, tmp_path):
    code, out, err = await keys("status")  # no variable, no key file: said, and no file is made
    assert code == 0 and out.splitlines() == [
        "no identity keys: HOAGIAI_IDENTITY_KEYS is not set and the key file data/identity.keys does not exist "
        "(the bot creates it with a new key when it first starts)",
        "sealed identities: none"]
    code, out, err = await keys("rotate")
    assert code == 2 and "no identity keys" in err
    assert not (tmp_path / "data" / "identity.keys").exists()

    (tmp_path / "data").mkdir(exist_ok=True)  # there already with SQLite, the database's folder
    (tmp_path / "data" / "identity.keys").write_text(f"{KEY_A}\n", encoding="ascii")
    await seal(engine, (KEY_A,), [IDENTITY])
    code, out, err = await keys("status")
    assert code == 0 and out.splitlines() == [
        "keys from data/identity.keys (the first seals new identities):", f"  {HINT_A}  key 1, current",
        "sealed identities by key:", f"  {HINT_A}  1  key 1, current"]


async def test_generate_prints_a_key_and_how_to_use_it(keys):
    code, out, err = await keys("generate")  # needs no database (this one is not even migrated)
    assert (code, err) == (0, "")
    key = out.splitlines()[0]
    Fernet(key)
    assert f"HOAGIAI_IDENTITY_KEYS={key},<the keys in use>" in out
    assert f"Key hint {key_hint(key)}" in out and "hoagiai keys rotate" in out
    _, again, _ = await keys("generate")
    assert again.splitlines()[0] != key


@pytest.mark.parametrize("action", ["status", "rotate"])
async def test_an_unmigrated_database_is_refused(keys, monkeypatch, action):
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", KEY_A)
    code, out, err = await keys(action)
    assert (code, out) == (2, "")
    assert "hoagiai db upgrade" in err


@pytest.mark.parametrize("action", ["status", "rotate"])
async def test_a_malformed_key_is_named_never_echoed(engine, keys, monkeypatch, action):
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", f"{KEY_A},{KEY_B[:20]}")
    code, out, err = await keys(action)
    assert (code, out) == (2, "")
    assert err.startswith("hoagiai: HOAGIAI_IDENTITY_KEYS: key 2 of 2 is not a Fernet key")
    assert KEY_A not in err and KEY_B[:20] not in err


async def test_the_bot_does_not_start_with_a_malformed_key(engine, database_url, monkeypatch, tmp_path, capsys):
    run = cli_runner("run", database_url, monkeypatch, tmp_path, capsys)
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", "x" * 44)
    monkeypatch.setenv("HOAGIAI_WEB_ENABLED", "false")
    code, out, err = await run()
    assert code == 2
    assert "hoagiai: HOAGIAI_IDENTITY_KEYS: key 1 of 1 is not a Fernet key" in err and "x" * 44 not in err
