"""Build the fwbot image with podman and check that it serves (``make container-check``).

    python deploy/check_container.py [--max-mb 600] [--rebuild-base]

Installs podman and its tools if they are missing (root with apt-get), makes the Debian
base image once (deploy/podman_image.py), builds deploy/Dockerfile on it, fails if the image
is over ``--max-mb``, and runs it (``--network host``) against a fake Slack on loopback
(local_slack): ``/healthz`` 200, ``/readyz`` 200, an unsigned POST 401, the server running as
uid 10001, one signed ``/align`` whose reply reaches the fake with an objective id, then a
SIGTERM that stops it with exit 0. Prints the timings and sizes; exit 1 on any failure.

Where podman cannot run (not installed and not installable, no user namespaces, …) it prints
``check_container: SKIPPED: <why>`` and exits 0: a skip is not a failure.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: local_slack

import host_services
from podman_image import (
    BASE_IMAGE,
    IMAGE,
    Failed,
    Skip,
    build,
    check_podman,
    ensure_base,
    ensure_tools,
    image_size,
    podman_env,
)

from framework_data.loader import load_framework
from local_slack import FakeSlackAPI, SlackRequests, post
from local_slack.recording import block_texts

SECRET = "container-check-signing-secret"
BOT_TOKEN = "xoxb-test"  # the fake's default valid token
RUNTIME_UID = "10001"
START_TIMEOUT = 180.0  # seconds from `podman run` to /healthz 200 (a cold, busy machine)
REPLY_TIMEOUT = 60.0  # seconds from the signed /align to its reply at the fake
PROPOSAL = (
    "We will train forensic specialists from member countries in digital evidence "
    "and share best practices through regional workshops."
)


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Container:
    """One ``podman run -d`` of the image, removed on exit."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name

    def podman(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def running(self) -> bool:
        out = self.podman("inspect", "--format", "{{.State.Running}}", self.name)
        return out.stdout.strip() == "true"

    def logs(self) -> str:
        out = self.podman("logs", self.name)
        return (out.stdout + out.stderr)[-4000:]

    def remove(self) -> None:
        self.podman("rm", "--force", "--time", "2", self.name)


def wait_until(what: str, ok: Callable[[], bool], box: Container, timeout: float) -> float:
    """Polls ``ok`` until true; the seconds it took. Fails at once if the container exited."""
    started = time.monotonic()
    while not ok():
        if not box.running():
            raise Failed(f"the container exited before {what}; its log:\n{box.logs()}")
        if time.monotonic() - started > timeout:
            raise Failed(f"no {what} within {timeout:.0f} s; the container's log:\n{box.logs()}")
        time.sleep(0.2)
    return time.monotonic() - started


def check_serving(
    env: dict[str, str], timings: dict[str, str], label: str, settings: dict[str, str]
) -> None:
    """Runs the image with ``settings`` against a fake Slack and checks what it serves; adds
    its timings under ``label``."""
    objective_ids = {o.id for _, o in load_framework().objectives()}
    port = host_services.free_port()
    root = f"http://127.0.0.1:{port}"
    box = Container(env, f"fwbot-check-{secrets.token_hex(4)}")
    with FakeSlackAPI(tokens=[BOT_TOKEN]) as fake:
        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "FWBOT_TRUST_LOCAL_SLACK": "true",
            "FWBOT_ADMIN_PORT": "0",  # host network: never collide with another server
            **settings,
        }
        options = [arg for k, v in settings.items() for arg in ("--env", f"{k}={v}")]
        run = ["run", "--detach", "--init", "--network", "host", "--name", box.name, *options]
        run += [IMAGE, "serve", "--host", "127.0.0.1", "--port", str(port)]
        print(f"check_container: {label}: podman run {IMAGE} serve", flush=True)
        started = time.monotonic()
        out = box.podman(*run)
        if out.returncode != 0:
            raise Failed(f"podman run exited {out.returncode}: {out.stderr.strip()[-2000:]}")
        try:
            healthy = lambda: _status(root + "/healthz") == 200  # noqa: E731
            wait_until("/healthz 200", healthy, box, START_TIMEOUT)
            timings[f"{label}: start to /healthz 200"] = f"{time.monotonic() - started:.1f} s"
            _check_probes(root)
            _check_uid(box)
            took = _check_align(root, fake, objective_ids)
            timings[f"{label}: signed /align to its reply"] = took
            _check_stop(box)
        finally:
            box.remove()


def _status(url: str) -> int:
    try:
        return http_get(url)[0]
    except OSError:
        return 0


def _check_probes(root: str) -> None:
    status, body = http_get(root + "/healthz")
    if status != 200 or json.loads(body) != {"ok": True}:
        raise Failed(f"/healthz answered {status} {body[:200]!r}")
    status, body = http_get(root + "/readyz")
    want = {"ready": True, "checks": {"database": "ok", "vector_store": "ok"}}
    if status != 200 or json.loads(body) != want:
        raise Failed(f"/readyz answered {status} {body[:300]!r}, not 200 {want}")
    request = urllib.request.Request(
        root + "/slack/events",
        data=b"command=%2Falign&text=hello",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    if status != 401:
        raise Failed(f"an unsigned POST /slack/events answered {status}, not 401")
    print("check_container: /healthz 200, /readyz 200, unsigned POST 401", flush=True)


def _check_uid(box: Container) -> None:
    """The server process (not only the image's USER) runs as uid 10001: its pid from
    ``podman top``, its real and effective uid from /proc in the container."""
    out = box.podman("top", box.name, "pid", "args")
    rows = [line.split(None, 1) for line in out.stdout.splitlines()[1:] if line.strip()]
    pids = [pid for pid, args in rows if "fwbot serve" in args and "podman-init" not in args]
    if out.returncode != 0 or not pids:
        raise Failed(f"no fwbot serve process in podman top:\n{out.stdout}{out.stderr}")
    for pid in pids:
        status = box.podman("exec", box.name, "cat", f"/proc/{pid}/status").stdout
        uids = next((ln.split()[1:] for ln in status.splitlines() if ln.startswith("Uid:")), [])
        if not uids or set(uids) != {RUNTIME_UID}:
            raise Failed(f"fwbot serve (pid {pid}) runs as uid {uids}, not {RUNTIME_UID}")
    print(f"check_container: fwbot serve runs as uid {RUNTIME_UID}", flush=True)


def _check_align(root: str, fake: FakeSlackAPI, objective_ids: set[str]) -> str:
    url = fake.response_url()
    token = url.rsplit("/", 1)[-1]
    req = SlackRequests(SECRET).slash_command(
        "/align", PROPOSAL, user_id="U1", channel_id="C0CHECK", response_url=url
    )
    sent = time.monotonic()
    status, _, body = post(root + "/slack/events", req)
    if status != 200:
        raise Failed(f"the signed /align answered {status} {body[:200]!r}, not 200")
    try:
        [reply] = fake.wait_for(
            "response_url", timeout=REPLY_TIMEOUT, where=lambda c: c.params["_token"] == token
        )
    except AssertionError as exc:
        raise Failed(f"no /align reply at the fake Slack: {exc}") from None
    took = time.monotonic() - sent
    shown = "\n".join(block_texts(reply.params.get("blocks", [])))
    named = sorted(oid for oid in objective_ids if f"*{oid}*" in shown)
    if reply.status != 200 or not named:
        raise Failed(f"the /align reply names no objective id ({reply.status}):\n{shown[:1500]}")
    print(f"check_container: signed /align answered, naming {', '.join(named)}", flush=True)
    return f"{took:.1f} s"


def _check_stop(box: Container) -> None:
    """SIGTERM (podman stop through the init process): the bot stops in order, exit 0."""
    out = box.podman("stop", "--time", "20", box.name, timeout=60)
    code = box.podman("inspect", "--format", "{{.State.ExitCode}}", box.name).stdout.strip()
    if out.returncode != 0 or code != "0":
        raise Failed(f"podman stop: the container exited {code}; its log:\n{box.logs()}")


def check_with_services(env: dict[str, str], timings: dict[str, str]) -> None:
    """The image on PostgreSQL and a Chroma server, as compose.yaml runs it (psycopg and
    chromadb's HttpClient in the slim venv). Skipped, with a line saying why, where
    PostgreSQL is unreachable, unless FWBOT_REQUIRE_POSTGRES=1 (as CI sets)."""
    label = "PostgreSQL + Chroma server"
    try:
        with host_services.postgres_schema() as database_url, host_services.chroma_server() as p:
            settings = {"DATABASE_URL": database_url, "CHROMA_HOST": "127.0.0.1"}
            check_serving(env, timings, label, {**settings, "CHROMA_PORT": str(p)})
            kept = host_services.count_rows(database_url, "alignments")
            if kept < 1:
                raise Failed(f"the /align run is not in PostgreSQL ({kept} rows in alignments)")
    except host_services.Unavailable as exc:
        if host_services.postgres_required():
            raise Failed(f"{label}: {exc}") from None
        print(f"check_container: {label}: SKIPPED: {exc}", flush=True)
        timings[label] = "skipped"


def table(rows: dict[str, str]) -> str:
    width = max(len(k) for k in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-mb", type=int, default=600, help="largest image allowed (MB)")
    parser.add_argument("--rebuild-base", action="store_true", help="remake the base image")
    parser.add_argument(
        "--services",
        action="store_true",
        help="also run it on PostgreSQL (127.0.0.1:5432) and a Chroma server from the host",
    )
    args = parser.parse_args(argv)
    timings: dict[str, str] = {}
    sizes: dict[str, str] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fwbot-podman-") as tmp:
        try:
            ensure_tools()
            env = podman_env(Path(tmp))
            check_podman(env)
            base = ensure_base(env, rebuild=args.rebuild_base)
            timings["base image"] = "reused" if base is None else f"{base:.0f} s"
            timings["podman build"] = f"{build(env):.0f} s"
            size = image_size(IMAGE, env)
            sizes[f"base ({BASE_IMAGE})"] = f"{image_size(BASE_IMAGE, env) / 1e6:.0f} MB"
            sizes[f"image ({IMAGE})"] = f"{size / 1e6:.0f} MB (at most {args.max_mb} MB)"
            if size > args.max_mb * 1e6:
                raise Failed(f"the image is {size / 1e6:.0f} MB, over {args.max_mb} MB")
            check_serving(env, timings, "SQLite, embedded index", {})
            if args.services:
                check_with_services(env, timings)
        except Skip as exc:
            print(f"check_container: SKIPPED: {exc}", flush=True)
            return 0
        except (Failed, OSError, subprocess.TimeoutExpired) as exc:
            print(f"check_container: FAILED: {exc}", file=sys.stderr, flush=True)
            if timings or sizes:
                print(table({**timings, **sizes}), file=sys.stderr)
            return 1
    timings["total"] = f"{time.monotonic() - started:.0f} s"
    print("check_container: passed\n" + table({**timings, **sizes}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
