"""Database fixtures: every storage test runs on SQLite and, when configured, PostgreSQL.

PostgreSQL runs when HOAGIAI_TEST_POSTGRES_URL points at a server (any database on it); each
test then gets a fresh database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.engine import create_engine
from storage.migrate import upgrade
from storage.identity_vault import IdentityVault, new_key
from storage.uow import SqlUnitOfWork, make_uow_factory

POSTGRES_ENV = "HOAGIAI_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """The URL of an empty database, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'test.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    name = f"hoagiai_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to head."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def identity_vault() -> IdentityVault:
    """A fresh key per test: confidential tip-offs seal their reporter's identity with it."""
    return IdentityVault.of([new_key()], "test key")


@pytest.fixture
def uow_factory(engine: AsyncEngine, identity_vault: IdentityVault) -> Callable[[], SqlUnitOfWork]:
    return make_uow_factory(engine, identity_vault)
