"""The `hoagiai` command as a user runs it: refusing an un-migrated database, idempotent demo data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, db: Path, extra_env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOAGIAI_")}
    env.update({"HOAGIAI_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(ROOT), "HOAGIAI_WEB_PORT": "0"})
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=db.parent, capture_output=True,
                          text=True, timeout=timeout)


def test_run_refuses_an_unmigrated_database_and_names_the_fix(tmp_path):
    result = run_cli("run", db=tmp_path / "new.db")
    assert result.returncode == 2
    assert "hoagiai db upgrade" in result.stderr


def test_upgrade_then_demo_data_twice_loads_one_ward(tmp_path):
    db = tmp_path / "demo.db"
    assert run_cli("db", "upgrade", db=db).returncode == 0
    for _ in range(2):
        result = run_cli("demo-data", db=db)
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        kinds = dict(connection.execute("select kind, count(*) from units group by kind").fetchall())
    assert kinds["commune"] == 1 and kinds["group"] == 6


def test_webhook_mode_without_url_or_secret_is_explained(tmp_path):
    db = tmp_path / "hook.db"
    run_cli("db", "upgrade", db=db)
    result = run_cli("run", db=db, extra_env={"HOAGIAI_TELEGRAM_TOKEN": "1:x", "HOAGIAI_TELEGRAM_MODE": "webhook"})
    assert result.returncode == 2 and "HOAGIAI_WEBHOOK_URL" in result.stderr


def test_invalid_setting_is_explained(tmp_path):
    result = run_cli("run", db=tmp_path / "x.db", extra_env={"HOAGIAI_TELEGRAM_MODE": "carrier-pigeon"})
    assert result.returncode == 2 and "telegram_mode" in result.stderr


def test_rules_shows_the_defaults_with_the_wards_changes(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("rules:\n  - id: dispute.verify\n    kind: dispute\n    step: 2\n    unit: working_days\n"
                        "    limit: 7\n    source: Quyết định của UBND phường\n    note: seven working days here\n",
                        encoding="utf-8")
    days_off = tmp_path / "days_off.yaml"
    days_off.write_text("- 2026-12-24\n", encoding="utf-8")
    result = run_cli("rules", db=tmp_path / "x.db",
                     extra_env={"HOAGIAI_RULES_FILE": str(override), "HOAGIAI_DAYS_OFF_FILE": str(days_off)})
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "7 working_days" in lines["dispute.verify"] and "Quyết định của UBND phường" in lines["dispute.verify"]
    assert "Luật Hòa giải ở cơ sở 2013, Điều 20.2" in lines["dispute.resolve.mediation"]
    assert "2026-12-24" in result.stdout
    assert ("after a deadline: overdue to the people in charge, then officers after 1 working day, "
            "then head after 1 working day") in result.stdout

    override.write_text("escalation:\n  - {to: head, after_working_days: 2}\n", encoding="utf-8")
    result = run_cli("rules", db=tmp_path / "x.db", extra_env={"HOAGIAI_RULES_FILE": str(override)})
    assert "overdue to the people in charge, then head after 2 working days" in result.stdout


def test_a_wrong_rules_file_is_refused_by_rules_and_run(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("rules:\n  - id: dispute.verify\n    disabled: maybe\n", encoding="utf-8")
    env = {"HOAGIAI_RULES_FILE": str(override)}
    shown = run_cli("rules", db=tmp_path / "x.db", extra_env=env)
    assert shown.returncode == 2 and str(override) in shown.stderr and "dispute.verify" in shown.stderr
    db = tmp_path / "run.db"
    assert run_cli("db", "upgrade", db=db).returncode == 0
    refused = run_cli("run", db=db, extra_env=env)
    assert refused.returncode == 2 and "dispute.verify" in refused.stderr
