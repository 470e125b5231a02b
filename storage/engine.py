"""The async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg), tuned for each."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def _json_dumps(value: Any) -> str:
    # Vietnamese text stays readable in the database.
    return json.dumps(value, ensure_ascii=False)


def create_engine(url: str, *, sqlite_foreign_keys: bool = True) -> AsyncEngine:
    """An engine for `url`; nothing connects until first use.

    Migrations turn SQLite's foreign keys off: rebuilding a referenced table (Alembic's batch
    mode) would otherwise fail, and the pragma cannot change inside a transaction. They check
    the keys themselves afterwards (storage/migrate.py).
    """
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_foreign_keys)
    return create_async_engine(
        url, json_serializer=_json_dumps,
        pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800,
    )


def _sqlite_engine(url: str, foreign_keys: bool) -> AsyncEngine:
    database = make_url(url).database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, json_serializer=_json_dumps)
    # SQLAlchemy's documented recipe (SQLite dialect docs, "Enabling Non-Legacy SQLite
    # Transactional Modes"): take BEGIN away from the driver and emit it ourselves.
    # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers wait
    # (busy_timeout) instead of failing with "database is locked" on lock upgrade.
    pragmas = SQLITE_PRAGMAS if foreign_keys else tuple(p.replace("=ON", "=OFF") for p in SQLITE_PRAGMAS)
    event.listen(engine.sync_engine, "connect", partial(_on_sqlite_connect, pragmas))
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(pragmas: tuple[str, ...], dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver no longer emits BEGIN
    cursor = dbapi_connection.cursor()
    try:
        for pragma in pragmas:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
