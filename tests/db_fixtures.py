"""Database fixtures (a pytest plugin: ``pytest_plugins = ["tests.db_fixtures"]``).

* ``database_url``: a URL per backend, parametrized ``sqlite`` / ``postgresql``: a file in
  ``tmp_path``, or a fresh PostgreSQL schema selected in the URL itself
  (``?options=-csearch_path%3D<schema>``), dropped with everything in it afterwards.
* ``database`` / ``store``: a migrated :class:`~bot.storage.db.Database` on that URL, and a
  :class:`~bot.storage.store.Store` over it (so both backends run every test using them).
* ``pg_schema_url``: a PostgreSQL URL for a fresh, empty (unmigrated) schema, one string that
  also works as ``DATABASE_URL`` for a subprocess.

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, database ``test``). Tests needing it
are skipped when it is unreachable, unless ``FWBOT_REQUIRE_POSTGRES=1``: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bot.storage.db import Database
from bot.storage.store import Store

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REQUIRE_POSTGRES_VAR = "FWBOT_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def postgres_url_for_schema(schema: str, base_url: str | None = None) -> str:
    """``base_url`` (default: the test database) with ``search_path`` set to ``schema`` by a
    libpq connection option."""
    base_url = base_url or POSTGRES_URL
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def postgres_unavailable(reason: str) -> None:
    """Skip the test, or fail it when ``FWBOT_REQUIRE_POSTGRES=1`` (as CI sets)."""
    message = f"PostgreSQL at 127.0.0.1:5432 is unreachable: {reason}"
    if os.environ.get(REQUIRE_POSTGRES_VAR) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def connect_admin_engine(url: str | None = None) -> Engine:
    """An engine on the test database after checking that it answers, else skip / fail."""
    engine = create_engine(
        url or POSTGRES_URL, connect_args={"connect_timeout": 5}, pool_pre_ping=True
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        postgres_unavailable(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
    return engine


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine]:
    """The session's PostgreSQL connection for creating and dropping schemas."""
    engine = connect_admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema_url(_postgres_admin: Engine) -> Iterator[str]:
    """A URL for a fresh PostgreSQL schema ``fwbot_t_<hex>``, dropped after the test."""
    schema = f"fwbot_t_{uuid.uuid4().hex[:12]}"
    with _postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url_for_schema(schema)
    finally:
        with _postgres_admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's URL, once per backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "fwbot.db")
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database on ``database_url``."""
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def store(database: Database) -> Store:
    return Store(database)


def claim_only(database: Database, key: str, now: datetime | None = None) -> str:
    """Record ``key`` as a duplicate check only (no work kept): "new" the first time it is
    seen, "duplicate" after (what the event middleware does for events nobody acts on)."""
    from bot.storage.work_store import WorkStore

    return WorkStore(database).receive(
        key,
        kind=None,
        body=None,
        owner="test",
        lease=timedelta(minutes=1),
        is_dead=lambda owner: False,
        now=now,
    )
