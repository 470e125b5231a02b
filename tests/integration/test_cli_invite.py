"""`hoagiai invite` as an administrator runs it: a code shown once and stored as a hash, a link
that works in the chat, listing and revoking, and every bad input refused with nothing written."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.integration.test_cli_import import EXAMPLE, ROOT, count
from tests.integration.test_conversation import Harness, consent

USERNAME = "hong_ha_ward_bot"
CODE_LINE = re.compile(r"^code: +([A-Za-z0-9_-]{12,64})$", re.MULTILINE)
ID_LINE = re.compile(r"^invite (\d+): ", re.MULTILINE)


def run_cli(*args: str, db: Path, username: str | None = None) -> subprocess.CompletedProcess:
    """The CLI as an administrator runs it, with only the settings given here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOAGIAI_")}
    env.update({"HOAGIAI_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(ROOT)})
    if username is not None:
        env["HOAGIAI_TELEGRAM_BOT_USERNAME"] = username
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=db.parent, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def ward_template(tmp_path_factory) -> Path:
    """One migrated database with docs/ward.example.yaml imported; each test gets a copy."""
    db = tmp_path_factory.mktemp("template") / "ward.db"
    for args in (("db", "upgrade"), ("import", str(EXAMPLE))):
        result = run_cli(*args, db=db)
        assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def db(ward_template, tmp_path) -> Path:
    return Path(shutil.copy(ward_template, tmp_path / "ward.db"))


def invite(db: Path, *args: str, username: str | None = None) -> tuple[int, str, str]:
    """Make an invite; its id, its code and everything printed."""
    result = run_cli("invite", *args, db=db, username=username)
    assert result.returncode == 0, result.stderr
    return int(ID_LINE.search(result.stdout).group(1)), CODE_LINE.search(result.stdout).group(1), result.stdout


def stored(db: Path, invite_id: int) -> dict:
    query = ("select i.code_hash, i.role, u.code as unit, p.ref as person, i.note, i.expires_at, i.used_at, "
             "i.revoked_at from invites i join units u on u.id = i.unit_id left join people p on p.id = i.person_id "
             "where i.id = ?")
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return dict(connection.execute(query, (invite_id,)).fetchone())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_an_invite_prints_its_code_and_link_once_and_stores_only_the_hash(db):
    before = datetime.now(timezone.utc)
    invite_id, code, out = invite(db, "--role", "leader", "--unit", "hong-ha-tdp-3", username=USERNAME)

    assert f"link:    https://t.me/{USERNAME}?start={code}" in out
    assert "shown only this once" in out
    row = stored(db, invite_id)
    assert row["code_hash"] == hashlib.sha256(code.encode()).hexdigest()
    assert (row["role"], row["unit"], row["person"], row["used_at"], row["revoked_at"]) == (
        "leader", "hong-ha-tdp-3", None, None, None)
    expires = utc(row["expires_at"])
    assert before + timedelta(days=7) <= expires <= datetime.now(timezone.utc) + timedelta(days=7)
    local = expires.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M")
    assert f"expires: {local} (Asia/Ho_Chi_Minh)" in out
    files = [db, *db.parent.glob("ward.db-*")]  # with SQLite's WAL, if any is left
    assert all(code.encode() not in path.read_bytes() for path in files)


def test_without_the_username_the_link_has_a_placeholder_and_a_hint(db):
    result = run_cli("invite", "--role", "member", "--unit", "hong-ha-ktht", db=db)
    assert result.returncode == 0, result.stderr
    assert "https://t.me/<bot-username>?start=" in result.stdout
    assert "HOAGIAI_TELEGRAM_BOT_USERNAME" in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_invite_for_a_person_of_the_ward_file_keeps_the_person_days_and_note(db):
    before = datetime.now(timezone.utc)
    invite_id, _, out = invite(db, "--role", "officer", "--unit", "hong-ha-ca", "--person", "pham-minh-duc",
                               "--days", "30", "--note", "Đức, cảnh sát khu vực")
    assert "officer in hong-ha-ca (Công an phường Hồng Hà) for pham-minh-duc" in out
    row = stored(db, invite_id)
    assert (row["role"], row["unit"], row["person"], row["note"]) == (
        "officer", "hong-ha-ca", "pham-minh-duc", "Đức, cảnh sát khu vực")
    assert before + timedelta(days=30) <= utc(row["expires_at"]) <= datetime.now(timezone.utc) + timedelta(days=30)


async def test_the_printed_codes_work_in_the_chat_once(db):
    _, leader_code, _ = invite(db, "--role", "leader", "--unit", "hong-ha-tdp-3")
    duc_id, duc_code, _ = invite(db, "--role", "officer", "--unit", "hong-ha-ca", "--person", "pham-minh-duc")
    _, an_code, _ = invite(db, "--role", "officer", "--unit", "hong-ha-ca", "--person", "nguyen-van-an")  # a new role
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        chat = Harness(make_uow_factory(engine))
        chat.clock.current = datetime.now(timezone.utc)
        for user, code in (("500", leader_code), ("501", duc_code), ("502", leader_code), ("503", an_code)):
            await consent(chat, user)
            await chat.send(user=user, text=f"/start {code}")
    finally:
        await engine.dispose()

    assert "You now hold the role" in chat.last("500").text and "Tổ dân phố số 3" in chat.last("500").text
    assert "Công an phường Hồng Hà" in chat.last("501").text
    assert "already been used" in chat.last("502").text
    with sqlite3.connect(db) as connection:
        leader = connection.execute("select m.role, u.code from memberships m join units u on u.id = m.unit_id "
                                    "join identities i on i.person_id = m.person_id where i.external_id = '500'")
        assert leader.fetchall() == [("leader", "hong-ha-tdp-3")]
        linked = connection.execute("select p.ref from identities i join people p on p.id = i.person_id "
                                    "where i.external_id = '501'")
        assert linked.fetchall() == [("pham-minh-duc",)]
        granted = connection.execute("select m.role, u.code from memberships m join units u on u.id = m.unit_id "
                                     "join people p on p.id = m.person_id where p.ref = 'nguyen-van-an'")
        assert ("officer", "hong-ha-ca") in granted.fetchall()

    used = run_cli("invite", "--revoke", str(duc_id), db=db)
    assert used.returncode == 2 and f"hoagiai: invite {duc_id} was used on " in used.stderr
    assert run_cli("invite", "--list", db=db).stdout == "no usable invites\n"


def test_the_list_shows_usable_invites_and_never_a_code(db):
    kept_id, kept_code, _ = invite(db, "--role", "mediator", "--unit", "hong-ha-hg-1", "--person", "tran-thi-binh",
                                   "--note", "Bình")
    revoked_id, revoked_code, _ = invite(db, "--role", "admin", "--unit", "hong-ha")
    assert run_cli("invite", "--revoke", str(revoked_id), db=db).returncode == 0

    listed = run_cli("invite", "--list", db=db)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["id", "role", "unit", "person", "expires", "(Asia/Ho_Chi_Minh)", "note"]
    assert len(rows) == 1 and rows[0].split()[:4] == [str(kept_id), "mediator", "hong-ha-hg-1", "tran-thi-binh"]
    assert rows[0].endswith("Bình")
    assert kept_code not in listed.stdout and revoked_code not in listed.stdout


def test_revoke_marks_the_invite_and_a_second_revoke_is_refused(db):
    invite_id, _, _ = invite(db, "--role", "head", "--unit", "hong-ha-ca")
    first = run_cli("invite", "--revoke", str(invite_id), db=db)
    assert first.returncode == 0 and first.stdout == f"invite {invite_id} revoked\n"
    assert stored(db, invite_id)["revoked_at"] is not None

    second = run_cli("invite", "--revoke", str(invite_id), db=db)
    assert second.returncode == 2 and second.stdout == ""
    assert second.stderr.startswith(f"hoagiai: invite {invite_id} was already revoked on ")

    unknown = run_cli("invite", "--revoke", "999", db=db)
    assert (unknown.returncode, unknown.stderr) == (2, "hoagiai: no invite with id 999\n")


ROLES = "leader, mediator, officer, head, member, admin"


@pytest.mark.parametrize(("args", "message"), [
    ("--role boss --unit hong-ha-tdp-1", f"unknown role 'boss'; the roles are {ROLES}"),
    ("--role resident --unit hong-ha-tdp-1", f"unknown role 'resident'; the roles are {ROLES}"),
    ("--role leader", "--role needs --unit UNIT_CODE: the unit the role is held in"),
    ("--role leader --unit tdp-9", "no unit with code 'tdp-9'"),
    ("--role leader --unit hong-ha-ca", "a leader is held in a residential group, and 'hong-ha-ca' is a department"),
    ("--role mediator --unit hong-ha-tdp-1",
     "a mediator is held in a mediation team, and 'hong-ha-tdp-1' is a residential group"),
    ("--role admin --unit hong-ha-vp", "an admin is held in the ward, and 'hong-ha-vp' is a department"),
    ("--role officer --unit hong-ha-vp",
     "an officer is held in the police department, and 'hong-ha-vp' is the office department"),
    ("--role head --unit hong-ha-ktht",
     "a head is held in the police department, and 'hong-ha-ktht' is the economic department"),
    ("--role leader --unit hong-ha-tdp-1 --person nobody", "no person with ref 'nobody' in the ward file"),
    ("--role leader --unit hong-ha-tdp-1 --days 0", "--days must be a whole number from 1 to 90, not '0'"),
    ("--role leader --unit hong-ha-tdp-1 --days 91", "--days must be a whole number from 1 to 90, not '91'"),
    ("--role leader --unit hong-ha-tdp-1 --days 1.5", "--days must be a whole number from 1 to 90, not '1.5'"),
    ("--list --unit hong-ha-tdp-1", "--unit is for use with --role only"),
    ("--revoke 1 --days 3 --note x", "--days, --note are for use with --role only"),
])
def test_a_bad_input_is_refused_in_one_line_and_writes_nothing(db, args, message):
    result = run_cli("invite", *args.split(), db=db)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"hoagiai: {message}\n")
    assert count(db, "invites") == 0


@pytest.mark.parametrize("args", [["--role", "leader", "--list"], ["--role", "leader", "--revoke", "1"], []])
def test_role_list_and_revoke_are_one_choice(db, args):
    result = run_cli("invite", *args, db=db)
    assert result.returncode == 2 and "usage: hoagiai invite" in result.stderr
    assert "not allowed with argument" in result.stderr or "one of the arguments" in result.stderr


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path):
    result = run_cli("invite", "--role", "leader", "--unit", "hong-ha-tdp-1", db=tmp_path / "new.db")
    assert result.returncode == 2 and "hoagiai db upgrade" in result.stderr and result.stdout == ""
