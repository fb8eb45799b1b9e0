"""Engines, migrations and sessions: SQLite (WAL) by default, PostgreSQL through a URL.

A PostgreSQL URL may pick its schema itself, which psycopg passes to the server as a
connection option: ``postgresql://user@host/db?options=-csearch_path%3Dmy_schema``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    create_engine,
    event,
    insert,
    make_url,
    pool,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # alembic is imported when migrating (settings check URLs without it)
    from alembic.config import Config

log = logging.getLogger("fwbot")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)
# Serialises concurrent `migrate` runs (several replicas starting at once) on PostgreSQL.
_PG_MIGRATION_LOCK = 0x66776274  # "fwbt"
PG_CONNECT_TIMEOUT = 10  # seconds; an unreachable host fails instead of hanging (URL may override)
URL_EXAMPLES = "e.g. postgresql://user@host/db or sqlite:////path/to/fwbot.db"


class DatabaseUnreachable(RuntimeError):
    """No connection could be made; ``where`` is the URL without its password."""

    def __init__(self, where: str, reason: str, dialect: str) -> None:
        self.where, self.reason, self.dialect = where, reason, dialect
        super().__init__(f"cannot connect to the database at {where}: {reason}")


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; ``postgresql://`` (or ``postgres://``) gets the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use a sqlite or postgresql URL")
    return parsed


def check_url(url: str) -> URL:
    """Parse ``url`` and load its dialect and driver; ValueError (never echoing the URL, which
    may hold a password) when it is not a database URL, another database or an unknown or
    missing driver."""
    try:
        make_url(url)
    except ArgumentError:
        raise ValueError(f"not a database URL; {URL_EXAMPLES}") from None
    except ValueError:  # int() of the port
        raise ValueError(f"its port is not a number; {URL_EXAMPLES}") from None
    try:
        parsed = normalize_url(url)
    except (NoSuchModuleError, ValueError) as exc:
        raise ValueError(
            f"{exc if isinstance(exc, ValueError) else 'unsupported database'} ({URL_EXAMPLES})"
        ) from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ValueError(
            f"unknown driver {parsed.drivername!r}; leave the driver out ({URL_EXAMPLES})"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        raise ValueError(
            f"the driver of {parsed.drivername!r} is not installed; leave the "
            f"driver out ({URL_EXAMPLES})"
        ) from None
    return parsed


def printable_url(url: str | URL) -> str:
    """``url`` as the user wrote it, without its password (also none in the query)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(an unreadable URL)"
    parsed = parsed._replace(password=None).difference_update_query(["password"])
    return parsed.render_as_string(hide_password=False)


def connect_failure(exc: OperationalError) -> str:
    """The driver's reason, without the repetition: "Connection refused",
    'database "x" does not exist', "unable to open database file"."""
    lines = [ln.strip() for ln in str(exc.orig or exc).strip().splitlines() if ln.strip()]
    reason = lines[0] if lines else "unknown error"
    reason = reason.rsplit(" failed: ", 1)[-1].removeprefix("connection failed: ")
    return " ".join(reason.removeprefix("FATAL:").split()) or "unknown error"


def check_connection(engine: Engine) -> None:
    """Open (and return to the pool) one connection; DatabaseUnreachable if none can be made."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseUnreachable(
            printable_url(engine.url), connect_failure(exc), engine.dialect.name
        ) from exc


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_engine(url: str | URL, *, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """Create an engine for ``url``; ``connect_args`` go to the DB-API ``connect()``.

    SQLite: the file's directory is created, connections may cross threads and every
    connection gets WAL, foreign keys, a 5 s busy timeout and ``synchronous=NORMAL``.
    An in-memory database uses one shared connection. PostgreSQL: psycopg 3, pre-ping.
    """
    parsed = normalize_url(url)
    args: dict[str, Any] = dict(connect_args or {})
    if parsed.get_backend_name() == "postgresql":
        if "connect_timeout" not in parsed.query:
            args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT)
        return create_engine(parsed, connect_args=args, pool_pre_ping=True)

    args.setdefault("check_same_thread", False)
    kwargs: dict[str, Any] = {}
    if _is_sqlite_memory(parsed):
        kwargs["poolclass"] = pool.StaticPool
    elif not (parsed.database or "").startswith("file:"):
        Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args=args, **kwargs)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to the newest migration (``upgrade head``).

    Tables and ``alembic_version`` go to the connection's current schema (on PostgreSQL the
    first schema of its ``search_path``). Alembic's INFO chatter (plugins, context, each step)
    is kept quiet, its warnings are not; one INFO line says when the schema changed.
    On SQLite foreign keys are off while migrating (:func:`_foreign_keys_off`).
    DatabaseUnreachable when no connection can be made."""
    check_connection(engine)
    with (
        _alembic_quiet(),
        _sqlite_migration_lock(engine),
        engine.connect() as connection,
        _foreign_keys_off(connection),
        connection.begin(),
    ):
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        config = alembic_config()
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"a migration left rows that point nowhere: {broken[:5]}")
    if after != before:
        log.info("fwbot: database schema upgraded from %s to %s", before or "empty", after)


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite file: one process at a time migrates it (processes started together on a new
    file would otherwise each create the tables: "table … already exists"). An exclusive
    ``flock`` on ``<file>.migrate.lock``, released by the kernel if its holder dies.
    PostgreSQL has its advisory lock in :func:`migrate`; elsewhere, nothing to do."""
    database = engine.url.database or ""
    if (
        engine.dialect.name != "sqlite"
        or database in ("", ":memory:")
        or database.startswith("file:")
    ):
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: foreign keys off while ``connection`` migrates (:func:`migrate` then checks
    them). A migration that changes a table's constraints there (``batch_alter_table``: a new
    CHECK, e.g. for a new cadence) copies the table and drops the old one; with foreign keys
    on, that drop would delete or null every row elsewhere that points at it (``ON DELETE
    CASCADE`` / ``SET NULL``): a new cadence would cost every progress update. The PRAGMA
    works only outside a transaction, hence here. Other databases: nothing to do."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


@contextmanager
def _alembic_quiet() -> Iterator[None]:
    """Alembic's loggers at WARNING while migrating, unless someone set their level."""
    logger = logging.getLogger("alembic")
    if logger.level != logging.NOTSET:
        yield
        return
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(logging.NOTSET)


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str, *, connect_args: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, connect_args=connect_args)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and makes the others wait by sleeping in growing
        # steps (up to 100 ms each): under concurrent requests that is where the latency goes.
        # Within a process, sessions take turns on a lock instead (FIFO, no sleeping); other
        # processes still meet busy_timeout. PostgreSQL needs none of this.
        self._turns = threading.Lock() if self.dialect == "sqlite" else nullcontext()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Apply all pending migrations."""
        migrate(self.engine)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.
        ``write=False`` (reads only) skips SQLite's turn-taking: WAL readers never wait."""
        with self._turns if write else nullcontext(), self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()


def aware_utc(now: datetime | None) -> datetime:
    """``now`` in UTC (the current time when None); a naive time is refused."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware time")
    return now.astimezone(UTC)


def dialect_insert(session: Session, table: Any) -> Insert:
    """An insert in the session's dialect (for ON CONFLICT) on SQLite and PostgreSQL."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    return insert(table)  # pragma: no cover - only the two backends are supported
