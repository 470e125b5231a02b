"""Schema migrations (Alembic, configured in code) and the check the app runs at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseNotMigrated(Exception):
    """The schema is missing or older than the code."""


def alembic_config(url: str | None = None) -> Config:
    """Alembic's config without an .ini file, so it works from any directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (the newest by default), in one transaction."""
    config = alembic_config(url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:  # raising rolls the whole upgrade back
                raise RuntimeError(f"migration left {len(broken)} broken foreign keys, e.g. {broken[0]}")
            # Statistics for the planner: without them SQLite picks (kind, at) over case_id for the
            # roll-up's correlated checks and a yearly report turns quadratic. Bounded, so cheap.
            connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            connection.exec_driver_sql("ANALYZE")

    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def _current_revisions(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            heads = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    finally:
        await engine.dispose()
    return set(heads)


async def current_revision(url: str) -> str | None:
    """The database's revision, or None for an empty database."""
    revisions = sorted(await _current_revisions(url))
    return ",".join(revisions) or None


async def is_up_to_date(url: str) -> bool:
    return await _current_revisions(url) == head_revisions()


async def require_up_to_date(url: str) -> None:
    """Refuse to run on a database the code does not match, and say how to fix it."""
    current = await _current_revisions(url)
    expected = head_revisions()
    if current == expected:
        return
    at = ",".join(sorted(current)) or "empty"
    if current - known_revisions():
        raise DatabaseNotMigrated(f"the database (at {at}) was migrated by a newer hoagiai; update the code")
    raise DatabaseNotMigrated(
        f"the database schema is not up to date (at {at}, expected {','.join(sorted(expected))}); "
        "run `hoagiai db upgrade`"
    )
