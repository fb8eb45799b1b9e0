"""/healthz (liveness) and /readyz (readiness), in process: the checks of
:class:`bot.slack.health.Readiness` (bounded in time, cached, a reason word and never a host
or an error's text in the answer) and the real ones of ``Services.readiness`` against a
database and a vector store that are down. The served endpoints are checked against a real
``fwbot serve`` in tests/test_slack_http.py (HTTP) and tests/test_socket_mode_serve.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.slack.health import NotReady, Readiness
from bot.slack.metrics import Metrics
from bot.slack.server import SlackWSGI
from bot.wiring.composition import Services
from bot.wiring.settings import Settings
from retrieval.index import ChromaLocation, VectorIndex


def _get(wsgi: SlackWSGI, path: str) -> tuple[str, dict[str, Any]]:
    got: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    body = b"".join(wsgi(environ, lambda status, _headers: got.append(status)))
    return got[0], json.loads(body)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fail(reason: str):
    def check() -> None:
        raise NotReady(reason, "db.internal.example:5432 refused the connection")

    return check


def test_healthz_is_liveness_only() -> None:
    """/healthz answers even when every dependency is down: it checks none of them."""
    wsgi = SlackWSGI(None, Metrics(), Readiness({"database": _fail("down")}))
    assert _get(wsgi, "/healthz") == ("200 OK", {"ok": True})


def test_readyz_is_200_when_every_check_passes() -> None:
    wsgi = SlackWSGI(None, Metrics(), Readiness({"database": lambda: None, "socket": lambda: 1}))
    status, body = _get(wsgi, "/readyz")
    assert status == "200 OK"
    assert body == {"ready": True, "checks": {"database": "ok", "socket": "ok"}}


def test_readyz_is_503_with_the_failed_check_and_no_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("password authentication failed for user fwbot at 10.1.2.3")

    checks = {"database": _fail("down"), "vector_store": broken, "socket": lambda: None}
    wsgi = SlackWSGI(None, Metrics(), Readiness(checks))
    with caplog.at_level("INFO", logger="fwbot.health"):
        status, body = _get(wsgi, "/readyz")
    assert status == "503 Service Unavailable"
    assert body == {
        "ready": False,
        "checks": {"database": "down", "vector_store": "error", "socket": "ok"},
    }
    logged = caplog.text
    assert "db.internal.example" in logged and "10.1.2.3" in logged  # details: the log only


def test_a_hung_check_is_cut_off_and_not_piled_up() -> None:
    release = threading.Event()
    started: list[float] = []

    def hangs() -> None:
        started.append(time.monotonic())
        release.wait(10)

    readiness = Readiness({"database": hangs}, timeout=0.2, cache_seconds=0)
    try:
        t0 = time.monotonic()
        assert readiness.report() == (False, {"database": "timeout"})
        assert time.monotonic() - t0 < 1.0
        for _ in range(5):  # a probe storm while it hangs: no new thread
            assert readiness.report() == (False, {"database": "timeout"})
        assert len(started) == 1
    finally:
        release.set()


def test_reports_are_cached_for_a_moment() -> None:
    calls: list[int] = []
    now = [100.0]
    readiness = Readiness(
        {"database": lambda: calls.append(1)}, cache_seconds=1.5, clock=lambda: now[0]
    )
    for _ in range(50):
        assert readiness.report()[0] is True
    assert len(calls) == 1
    now[0] += 2
    readiness.report()
    assert len(calls) == 2


def test_stopping_is_not_ready() -> None:
    readiness = Readiness({"database": lambda: None})
    readiness.stopping = True
    assert readiness.report() == (False, {"database": "ok", "process": "stopping"})


# ---- the real checks: Services.readiness ------------------------------------------------------


def _services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Services:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FWBOT_DATA_DIR", str(tmp_path))
    for var in ("CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(var, raising=False)
    return Services(Settings(_env_file=None))


def _index_at(location: ChromaLocation, collection: str | None = None) -> Any:
    index = VectorIndex([], np.zeros((0, 384), dtype=np.float32), "fp")
    index.location, index.collection = location, collection
    return type("Searcher", (), {"index": index})()


def test_database_and_chroma_server_down_is_503_without_hosts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db_port, chroma_port = _closed_port(), _closed_port()
    services = _services(
        monkeypatch, tmp_path, f"postgresql+psycopg://fwbot:secret@127.0.0.1:{db_port}/fwbot"
    )
    services.__dict__["searcher"] = _index_at(ChromaLocation(host="127.0.0.1", port=chroma_port))
    wsgi = SlackWSGI(None, Metrics(), services.readiness())
    t0 = time.monotonic()
    status, body = _get(wsgi, "/readyz")
    assert time.monotonic() - t0 < 5
    assert status == "503 Service Unavailable"
    assert body == {"ready": False, "checks": {"database": "down", "vector_store": "down"}}
    text = json.dumps(body)
    assert str(db_port) not in text and str(chroma_port) not in text and "127.0" not in text


def test_sqlite_database_is_ready_and_an_unreadable_embedded_store_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = _services(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'fwbot.db'}")
    services.__dict__["searcher"] = _index_at(
        ChromaLocation(path=tmp_path / "index"), "fwbot-nothing-here"
    )
    readiness = services.readiness()
    readiness.timeout = 30  # the first check imports chromadb
    ready, checks = readiness.report()
    assert (ready, checks) == (False, {"database": "ok", "vector_store": "missing"})
    services.database.dispose()


# ---- the detail: the admin listener only --------------------------------------------------------


def _get_with(wsgi: SlackWSGI, path: str, **headers: str) -> tuple[str, dict[str, Any]]:
    got: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    body = b"".join(wsgi(environ, lambda status, _headers: got.append(status)))
    return got[0], json.loads(body)


def test_a_postgresql_down_is_a_word_in_public_and_its_error_on_the_admin_listener(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db_port = _closed_port()
    services = _services(
        monkeypatch, tmp_path, f"postgresql+psycopg://fwbot:secret@127.0.0.1:{db_port}/fwbot"
    )
    services.__dict__["searcher"] = _index_at(ChromaLocation(path=tmp_path / "index"), "nothing")
    readiness = services.readiness()
    readiness.timeout = 30  # the first check imports chromadb
    public = SlackWSGI(None, Metrics(), readiness, admin_token="s3cret-admin")
    admin = SlackWSGI(None, Metrics(), readiness, admin=True)

    status, body = _get_with(public, "/readyz")
    assert status == "503 Service Unavailable"
    assert body == {"ready": False, "checks": {"database": "down", "vector_store": "missing"}}
    text = json.dumps(body)
    for leak in (str(db_port), "127.0.0.1", "Error", "refused", "connection", "fwbot:secret"):
        assert leak not in text, leak
    # a wrong token changes nothing
    assert _get_with(public, "/readyz", authorization="Bearer nope")[1] == body

    status, detailed = _get_with(admin, "/readyz")
    assert status == "503 Service Unavailable"
    assert detailed["checks"] == body["checks"]
    assert set(detailed["detail"]) == {"database", "vector_store"}
    assert "Connection refused" in detailed["detail"]["database"]
    assert f"127.0.0.1:{db_port}" in detailed["detail"]["database"]
    assert "secret" not in json.dumps(detailed)  # the URL's password is not in the error
    # the public port with the admin token: the same detail
    assert _get_with(public, "/readyz", authorization="Bearer s3cret-admin")[1] == detailed


def test_an_unopenable_sqlite_database_is_down_without_its_path_in_public(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    where = tmp_path / "a-dir-not-a-file" / "fwbot.db"
    where.mkdir(parents=True)  # SQLite cannot open a directory (a chmod would not stop root)
    services = _services(monkeypatch, tmp_path, f"sqlite:///{where}")
    readiness = Readiness({"database": services.readiness().checks["database"]})
    status, body = _get(SlackWSGI(None, Metrics(), readiness), "/readyz")
    assert (status, body) == (
        "503 Service Unavailable",
        {"ready": False, "checks": {"database": "down"}},
    )
    status, detailed = _get(SlackWSGI(None, Metrics(), readiness, admin=True), "/readyz")
    assert "unable to open database file" in detailed["detail"]["database"], detailed
    assert "a-dir-not-a-file" not in json.dumps(body)


def test_a_stopping_process_says_so_in_the_detail() -> None:
    readiness = Readiness({"database": lambda: None})
    readiness.stopping = True
    ready, checks, detail = readiness.report_detail()
    assert (ready, checks) == (False, {"database": "ok", "process": "stopping"})
    assert list(detail) == ["process"]
