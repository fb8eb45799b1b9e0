"""The public port serves Slack and a minimal health answer; metrics and readiness in detail
are on the admin listener (its own host and port, loopback by default), or on the public port
behind the admin token. In process (the WSGI app, and the listener `fwbot serve` builds); the
served ports of a real `fwbot serve` are checked in tests/test_slack_http.py (HTTP) and
tests/test_socket_mode_serve.py (Socket Mode)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from bot.slack.health import Readiness
from bot.slack.metrics import Metrics
from bot.slack.server import SlackWSGI
from bot.wiring.composition import Services
from bot.wiring.settings import Settings, UnusableSetting

TOKEN = "admin-token-7c1e"


def _get(wsgi: SlackWSGI, path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    got: list[tuple[str, dict[str, str]]] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    body = b"".join(wsgi(environ, lambda status, hs: got.append((status, dict(hs)))))
    return got[0][0], got[0][1], body


def _metrics() -> Metrics:
    metrics = Metrics()
    metrics.rejected.labels("401", "bad_signature").inc()  # something to show
    return metrics


def test_the_public_port_has_no_metrics() -> None:
    """Without an admin token /metrics is not there at all (HTTP mode's public port, with
    the app, and Socket Mode's, without)."""
    for app in (None, object()):
        wsgi = SlackWSGI(app, _metrics(), Readiness({}), signing_secret="s")  # type: ignore[arg-type]
        status, _, body = _get(wsgi, "/metrics")
        assert status == "404 Not Found"
        assert b"fwbot_" not in body


def test_the_public_port_serves_metrics_only_with_the_admin_token() -> None:
    metrics = _metrics()
    wsgi = SlackWSGI(None, metrics, Readiness({}), admin_token=TOKEN)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"}):
        status, got, body = _get(wsgi, "/metrics", **headers)
        assert status == "401 Unauthorized", headers
        assert got["WWW-Authenticate"] == "Bearer"
        assert b"fwbot_" not in body
    status, _, body = _get(wsgi, "/metrics", authorization=f"Bearer {TOKEN}")
    assert status == "200 OK"
    assert b"fwbot_http_rejected_total" in body
    text = metrics.exposition().decode()
    assert 'fwbot_http_rejected_total{reason="bad_token",status="401"} 3.0' in text


def test_the_admin_listener_serves_metrics_and_health() -> None:
    wsgi = SlackWSGI(None, _metrics(), Readiness({"database": lambda: None}), admin=True)
    status, headers, body = _get(wsgi, "/metrics")
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/plain")
    assert b"fwbot_http_rejected_total" in body
    status, _, body = _get(wsgi, "/readyz")
    assert (status, json.loads(body)) == (
        "200 OK",
        {"ready": True, "checks": {"database": "ok"}, "detail": {}},
    )
    assert _get(wsgi, "/healthz")[0] == "200 OK"
    assert _get(wsgi, "/slack/events")[0] == "404 Not Found"


def test_healthz_stays_minimal_on_the_public_port() -> None:
    def down() -> None:
        raise RuntimeError("db.internal:5432 refused")

    wsgi = SlackWSGI(None, _metrics(), Readiness({"database": down}), admin_token=TOKEN)
    assert _get(wsgi, "/healthz")[2] == b'{"ok": true}'
    status, _, body = _get(wsgi, "/readyz")
    assert status == "503 Service Unavailable"
    assert json.loads(body) == {"ready": False, "checks": {"database": "error"}}
    assert b"5432" not in body and b"refused" not in body


# ---- the listener `fwbot serve` starts --------------------------------------------------------


def _admin_listener(services: Services, readiness: Readiness):  # -> HTTPServer | None
    from bot.cli.serve import _admin_listener as build

    return build(services, readiness)


def _services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Services:
    for var in ("FWBOT_ADMIN_HOST", "FWBOT_ADMIN_PORT", "FWBOT_ADMIN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FWBOT_DATA_DIR", str(tmp_path))
    return Services(Settings(_env_file=None, **env))


def test_the_admin_listener_is_on_loopback_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = Settings(_env_file=None).admin
    assert (defaults.host, defaults.port, defaults.token) == ("127.0.0.1", 9464, None)
    services = _services(monkeypatch, tmp_path, FWBOT_ADMIN_PORT="0")  # the default host
    admin = _admin_listener(services, Readiness({}))
    assert admin is not None
    try:
        assert admin._server.socket.getsockname()[0] == "127.0.0.1"  # type: ignore[attr-defined]
        assert admin.port > 0
        admin.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{admin.port}/metrics", timeout=5) as r:
            assert r.status == 200 and b"fwbot_" in r.read()
    finally:
        admin.stop(timeout=1)


def test_the_admin_listener_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = _services(monkeypatch, tmp_path, FWBOT_ADMIN_PORT="off")
    assert _admin_listener(services, Readiness({})) is None


def test_an_admin_port_in_use_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = _services(monkeypatch, tmp_path, FWBOT_ADMIN_PORT="0")
    first = _admin_listener(services, Readiness({}))
    assert first is not None
    try:
        taken = _services(monkeypatch, tmp_path, FWBOT_ADMIN_PORT=str(first.port))
        with pytest.raises(UnusableSetting, match="FWBOT_ADMIN_PORT"):
            _admin_listener(taken, Readiness({}))
    finally:
        first.stop(timeout=1)
