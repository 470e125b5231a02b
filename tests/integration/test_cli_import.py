"""`hoagiai import` as an administrator runs it: the example loads, re-runs change nothing, bad files write nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "ward.example.yaml"


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOAGIAI_")}
    env.update({"HOAGIAI_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=db.parent, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory) -> Path:
    """One `hoagiai db upgrade` for the module; each test gets a copy (the command takes seconds)."""
    db = tmp_path_factory.mktemp("template") / "ward.db"
    result = run_cli("db", "upgrade", db=db)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def db(migrated_template, tmp_path) -> Path:
    """A migrated SQLite database in the test's directory, where the CLI runs."""
    return Path(shutil.copy(migrated_template, tmp_path / "ward.db"))


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"select count(*) from {table}").fetchone()[0]


def test_the_example_imports_then_a_second_run_changes_nothing(db):
    first = run_cli("import", str(EXAMPLE), db=db)
    assert first.returncode == 0, first.stderr
    assert "Phường Hồng Hà (hong-ha): imported" in first.stdout
    assert "units: 15 created, 0 updated, 0 unchanged, 0 removed" in first.stdout
    assert (count(db, "units"), count(db, "people"), count(db, "memberships")) == (15, 10, 14)

    second = run_cli("import", str(EXAMPLE), db=db)
    assert second.returncode == 0, second.stderr
    assert "roles: 0 created, 0 updated, 14 unchanged, 0 removed" in second.stdout
    assert (count(db, "units"), count(db, "people"), count(db, "memberships")) == (15, 10, 14)


def test_dry_run_shows_the_changes_and_writes_nothing(db):
    result = run_cli("import", "--dry-run", str(EXAMPLE), db=db)
    assert result.returncode == 0, result.stderr
    assert "dry run, nothing written" in result.stdout and "people: 10 created" in result.stdout
    assert count(db, "units") == count(db, "people") == 0


def test_a_bad_file_lists_every_problem_exits_2_and_writes_nothing(db, tmp_path):
    (tmp_path / "ward.yaml").write_text(
        "ward: {code: hong-ha, name: Phường Hồng Hà}\n"
        "groups:\n"
        "  - {code: tdp-1, name: Tổ dân phố số 1}\n"
        "people:\n"
        "  - ref: an\n"
        "    name: Nguyễn Văn An\n"
        "    phone: 0912-345\n"
        "    roles: [{role: leader, unit: tdp-9}]\n"
        "people_csv: people.csv\n", encoding="utf-8")
    (tmp_path / "people.csv").write_text("ref,name,phone,role,unit\nbinh,Bình,,officer,tdp-1\n", encoding="utf-8")
    result = run_cli("import", "ward.yaml", db=db)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ward.yaml:7: people[0].phone: '0912-345' is not a phone number: use digits, a leading '+' and spaces only",
        "ward.yaml:8: people[0].roles[0].unit: no unit with code 'tdp-9'",
        "people.csv:2: unit: an officer is held in a department, and 'tdp-1' is a residential group",
        "hoagiai: 3 problem(s); nothing was imported",
    ]
    assert result.stdout == "" and count(db, "units") == 0


def test_not_yaml_and_a_missing_file_exit_2(db, tmp_path):
    (tmp_path / "notes.yaml").write_bytes(b"ward: {code: x, name: Ph\xfd\xf4ng}\n")
    result = run_cli("import", "notes.yaml", db=db)
    assert result.returncode == 2 and "notes.yaml:1: not UTF-8 text (byte 0xfd)" in result.stderr
    result = run_cli("import", "nothere.yaml", db=db)
    assert result.returncode == 2 and "nothere.yaml: cannot read: No such file or directory" in result.stderr


def test_a_code_of_another_ward_is_refused(db, tmp_path):
    assert run_cli("import", str(EXAMPLE), db=db).returncode == 0
    (tmp_path / "other.yaml").write_text("ward: {code: an-binh, name: Xã An Bình}\n"
                                         "groups: [{code: hong-ha-tdp-1, name: Thôn 1}]\n", encoding="utf-8")
    result = run_cli("import", "other.yaml", db=db)
    assert result.returncode == 2
    assert "other.yaml:2: groups[0].code: 'hong-ha-tdp-1' is a unit of another ward in the database" in result.stderr
    assert count(db, "units") == 15


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path):
    result = run_cli("import", str(EXAMPLE), db=tmp_path / "new.db")
    assert result.returncode == 2 and "hoagiai db upgrade" in result.stderr
