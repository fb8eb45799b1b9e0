"""Where fwbot keeps things: the data folder (FWBOT_DATA_DIR) and the database (DATABASE_URL).

Each is checked before it is used, so that a wrong value is one line naming its variable
(:class:`UnusableSetting`), not a traceback from deep inside SQLite or Chroma:

- the data folder is created when it does not exist (it is fwbot's own); a file in its place,
  or a folder that cannot be created, is refused;
- a SQLite file named by DATABASE_URL must be in a folder that exists: fwbot creates only its
  default data folder, never one a URL names (a typo would otherwise leave a database where
  nobody looks);
- a file that is not a SQLite database (or a damaged one) is said to be so;
- a Chroma server (CHROMA_HOST) that is down, or does not answer its heartbeat in time, is
  said to be so (:func:`chroma_server_failure`), or, when this replica has a local copy of
  the index, warned of while that copy is searched (:func:`chroma_server_fallback`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .settings import StorageSettings, UnusableSetting

if TYPE_CHECKING:
    from ..storage.db import Database

DATA_DIR = StorageSettings.variable("data_dir")  # FWBOT_DATA_DIR
DATABASE_URL = StorageSettings.variable("database_url")  # DATABASE_URL
CHROMA_HOST = StorageSettings.variable("chroma_host")  # CHROMA_HOST
CHROMA_PORT = StorageSettings.variable("chroma_port")  # CHROMA_PORT
# what SQLite says of a file that is not one of its databases, or a damaged one
NOT_SQLITE = ("file is not a database", "database disk image is malformed")


def usable_data_dir(path: Path) -> Path:
    """``path`` (FWBOT_DATA_DIR), created with its parents when it does not exist;
    UnusableSetting when it is a file or cannot be created."""
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise UnusableSetting(
            f"{DATA_DIR}={path} is a file, not a folder: point {DATA_DIR} at a folder "
            "(fwbot creates it if it does not exist)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnusableSetting(
            f"{DATA_DIR}={path}: cannot create that folder ({exc.strerror or exc}): point "
            f"{DATA_DIR} at a folder fwbot may write"
        ) from None
    return path


def data_dir_failure(path: Path, exc: OSError) -> UnusableSetting | None:
    """The line for ``exc`` when it concerns a file in the data folder ``path`` (Chroma's
    index could not be made there), else None."""
    filename = exc.filename if isinstance(exc.filename, str) else None
    if filename is None or not Path(filename).is_relative_to(path.expanduser()):
        return None
    return UnusableSetting(
        f"{DATA_DIR}={path}: cannot use {filename} ({exc.strerror or exc}): point {DATA_DIR} "
        "at a folder fwbot may write"
    )


def chroma_server_failure(host: str, port: int, cause: str) -> UnusableSetting:
    """The line for a Chroma server (CHROMA_HOST, CHROMA_PORT) that does not answer."""
    return UnusableSetting(
        f"{CHROMA_HOST}={host}: the Chroma server at {host}:{port} does not answer ({cause}): "
        f"start it, or point {CHROMA_HOST} and {CHROMA_PORT} at one that runs (unset "
        f"{CHROMA_HOST} for the embedded index in {DATA_DIR})"
    )


def chroma_server_fallback(host: str, port: int, cause: str) -> str:
    """The warning when a Chroma server does not answer and the local copy of the index is
    searched instead (at start, or while running)."""
    return (
        f"{CHROMA_HOST}={host}: the Chroma server at {host}:{port} does not answer ({cause}); "
        f"searching this replica's local copy of the index in {DATA_DIR} until it does"
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for another database or an in-memory one)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or "mode=memory" in database:
        return None
    return Path(database).expanduser()


def check_database_folder(url: str) -> None:
    """A SQLite DATABASE_URL's folder must exist and be a folder (fwbot does not create it)."""
    file = sqlite_file(url)
    if file is None:
        return
    folder = file.parent
    if folder.is_dir():
        return
    what = "is not a folder" if folder.exists() else "does not exist"
    raise UnusableSetting(
        f"{DATABASE_URL}: the folder of the SQLite file, {folder}, {what}: create it first, "
        f"or leave {DATABASE_URL} unset to use {DATA_DIR}/fwbot.db"
    )


def not_sqlite(reason: str) -> bool:
    """Whether SQLite's ``reason`` says the file is not (or no longer) a SQLite database."""
    return any(said in reason for said in NOT_SQLITE)


def not_a_database_line(url: str, reason: str, *, default: bool) -> str:
    """The line for a database file that SQLite cannot read as one."""
    variable = DATA_DIR if default else DATABASE_URL
    where = str(sqlite_file(url) or url)
    fix = (
        f"move it aside (fwbot then creates a new one) or set {DATABASE_URL} to another file"
        if default
        else f"point {DATABASE_URL} at a fwbot database, or at a new file"
    )
    return f"{variable}: {where} is not a usable SQLite database ({reason}): {fix}"


def open_database(storage: StorageSettings) -> Database:
    """The database of ``storage``, migrated; UnusableSetting (naming the variable) when it
    cannot be created, reached or read."""
    from sqlalchemy.exc import DatabaseError

    from ..storage.db import Database, DatabaseUnreachable, printable_url

    default = not storage.database_url
    if default:
        usable_data_dir(storage.data_dir)
    else:
        check_database_folder(storage.database)
    where = printable_url(storage.database)  # as written, without a password
    sqlite_check = f"check that its folder can be written ({DATA_DIR}, or {DATABASE_URL})"
    try:
        db = Database(storage.database)
    except OSError as exc:
        raise UnusableSetting(
            f"cannot create the database at {where}: {exc.strerror or exc}; {sqlite_check}"
        ) from exc
    try:
        db.migrate()
    except DatabaseUnreachable as exc:
        db.dispose()
        if not_sqlite(exc.reason):
            raise UnusableSetting(
                not_a_database_line(storage.database, exc.reason, default=default)
            ) from exc
        check = (
            sqlite_check
            if exc.dialect == "sqlite"
            else (
                "check that PostgreSQL is running there and accepts connections, and the "
                f"host, port, user and database name in {DATABASE_URL}"
            )
        )
        raise UnusableSetting(
            f"cannot connect to the database at {where}: {exc.reason}; {check}"
        ) from exc
    except DatabaseError as exc:  # SQLite: a file that is not a database, or a damaged one
        db.dispose()
        reason = " ".join(str(exc.orig or exc).split())
        if db.dialect != "sqlite" or not not_sqlite(reason):
            raise
        raise UnusableSetting(
            not_a_database_line(storage.database, reason, default=default)
        ) from exc
    return db
