"""What the fault benches share (bench_faults.py, bench_replicas.py): the report's rows,
Slack's side of the Events API with its retries, the `fwbot serve` processes of a run, a
private PostgreSQL, and the replies and log lines they look at."""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_slack import FakeSlackAPI, SlackRequests, post  # noqa: E402
from local_slack.recording import Call  # noqa: E402
from local_slack.serve_process import start_serve, stop_serve  # noqa: E402

SECRET, BOT_TOKEN = "bench-signing-secret", "xoxb-test"
START_TIMEOUT = 300  # s: a fresh data dir builds the search index first
RETRIES = (1.0, 3.0, 6.0)  # s before Slack's retries 1..3, compressed from ~1 s / 1 min / 5 min
SLACK_TIMEOUT = 3.0  # s: Slack gives up on an ack after this
Events = list[tuple[dict, str]]  # (app_mention event, event id)


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.logs: dict[str, str] = {}

    def add(
        self, scenario: str, measure: str, value: object, target: str = "—", ok: bool | None = None
    ) -> None:
        verdict = "info" if ok is None else ("ok" if ok else "FAIL")
        self.rows.append((scenario, measure, str(value), target, verdict))


class Slack:
    """Slack's side of the Events API: sends an event to ``url`` and retries it as Slack does."""

    def __init__(self, url: str) -> None:
        self.url, self.requests = url, SlackRequests(SECRET)
        self.lock = threading.Lock()
        self.sent: Counter[str] = Counter()  # retry, refused, gave up
        self.attempts: list[tuple[str, int, int, float]] = []

    def deliver(
        self,
        event: dict,
        event_id: str,
        *,
        first: int = 0,
        retries: Sequence[float] = RETRIES,
        late: bool = False,
    ) -> int:
        """Attempt ``first`` now, then one after each pause; the last status (-1: no answer).
        ``late``: Slack did not see the 200 of the attempt that got one in time (it came after
        its 3 s, or the connection broke on the way back), so it sends the next retry anyway,
        ``retries[0]`` s later (that retry's status is in :attr:`attempts`, not returned)."""
        status, reason = -1, "http_error"
        for k, pause in enumerate((0.0, *retries)):
            time.sleep(pause)
            status, reason = self.attempt(event, event_id, first + k, reason)
            if status == 200:
                if late and retries:
                    time.sleep(retries[0])
                    self.attempt(event, event_id, first + k + 1, "http_timeout")
                return status
        with self.lock:
            self.sent["gave up"] += 1
        return status

    def attempt(self, event: dict, event_id: str, num: int, reason: str) -> tuple[int, str]:
        """One delivery (``num`` > 0: ``X-Slack-Retry-Num``); (status, the next retry's reason).
        Each is noted in :attr:`attempts`: (event id, num, status, seconds to the answer)."""
        req = self.requests.event(
            event, event_id=event_id, retry_num=num or None, retry_reason=reason
        )
        t0 = time.monotonic()
        try:
            status, reason = post(self.url, req, timeout=SLACK_TIMEOUT)[0], "http_error"
        except OSError as exc:  # refused, reset, or no answer within Slack's 3 s
            late = TimeoutError in (type(exc), type(getattr(exc, "reason", None)))
            status, reason = -1, "http_timeout" if late else "http_error"
        with self.lock:
            self.attempts.append((event_id, num, status, time.monotonic() - t0))
            self.sent.update(["retry"] * bool(num) + ["refused"] * (status != 200))
        return status, reason

    def start(
        self,
        events: Events,
        *,
        pace: float = 0.0,
        first: int = 0,
        retries: Sequence[float] = RETRIES,
    ) -> tuple[list[int], list[threading.Thread]]:
        """Deliver the events from threads, the i-th ``i * pace`` s from now; returns at once
        with (statuses, filled in as they come, threads)."""
        statuses = [0] * len(events)

        def send(i: int) -> None:
            time.sleep(i * pace)
            statuses[i] = self.deliver(*events[i], first=first, retries=retries)

        threads = [
            threading.Thread(target=send, args=(i,), daemon=True) for i, _ in enumerate(events)
        ]
        for t in threads:
            t.start()
        return statuses, threads


def replies(fake: FakeSlackAPI, events: Events) -> dict[tuple[str, str], list[Call]]:
    """The bot's ok chat.postMessage calls in each event's thread, by (channel, ts); not its
    "busy" lines (back-pressure: told once, then answered): :func:`busy_lines` counts them."""
    got: dict[tuple[str, str], list[Call]] = {(e["channel"], e["ts"]): [] for e, _ in events}
    for call in fake.calls("chat.postMessage"):
        k = (str(call.params.get("channel", "")), str(call.params.get("thread_ts") or ""))
        if k in got and call.ok and not is_busy_line(call):
            got[k].append(call)
    return got


BUSY_EVENT = "fwbot_busy"  # bot.slack_api.events: the metadata of a "busy" line


def is_busy_line(call: Call) -> bool:
    meta = call.params.get("metadata") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    return isinstance(meta, dict) and meta.get("event_type") == BUSY_EVENT


def busy_lines(fake: FakeSlackAPI) -> int:
    """The bot's "busy" lines (at most one per request: more is a duplicate too)."""
    return sum(call.ok and is_busy_line(call) for call in fake.calls("chat.postMessage"))


class Servers:
    """A scenario's fake Slack and `fwbot serve` processes, all logging to one file."""

    def __init__(
        self,
        fake: FakeSlackAPI,
        data_dir: Path,
        tmp: Path,
        pg: PrivatePostgres | None = None,
        database_url: str = "",
    ) -> None:
        self.fake, self.log, self.pg = fake, tmp / "server.log", pg
        self.procs: list[subprocess.Popen[str]] = []
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in (
                "FWBOT_FRAMEWORK",
                "CHROMA_HOST",
                "CHROMA_PORT",
                "SLACK_APP_TOKEN",
                "FWBOT_STOP_GRACE",
            )
        }
        self.env.update(
            FWBOT_DATA_DIR=str(data_dir),
            ANONYMIZED_TELEMETRY="False",
            PYTHONIOENCODING="utf-8",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.base_url,
            DATABASE_URL=database_url or f"sqlite:///{tmp / 'fwbot.db'}",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )

    def start(self, log: Path | None = None) -> tuple[subprocess.Popen[str], str]:
        """One more server (its stderr appended to ``log``, default the scenario's log); it
        and its Slack endpoint's URL, once it listens."""
        with (log or self.log).open("a", encoding="utf-8") as err:
            proc, port = start_serve(self.env, err, timeout=START_TIMEOUT)
        self.procs.append(proc)
        return proc, f"http://127.0.0.1:{port}/slack/events"

    def stop_all(self, report: Report, scenario: str) -> None:
        self.fake.delay("chat.postMessage", 0)
        for proc in self.procs:
            stop_serve(proc)
        if self.log.exists():
            report.logs[scenario] = self.log.read_text(encoding="utf-8", errors="replace")


class PrivatePostgres:
    """A throwaway cluster in a temp dir on 127.0.0.1:<free port>, trust auth; run as
    ``postgres`` (runuser) when we are root, since initdb refuses root."""

    def __init__(self) -> None:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda p: [int(x) for x in re.findall(r"\d+", p)],
        )
        initdb = found[-1] if found else shutil.which("initdb")
        self.bin, self.root = Path(initdb).parent if initdb else None, os.geteuid() == 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.dir = Path(tempfile.mkdtemp(prefix="fwbot-bench-pg-"))
        self.unavailable = (
            "no initdb (PostgreSQL server binaries) found"
            if not initdb
            else (
                "running as root without runuser"
                if self.root and not shutil.which("runuser")
                else None
            )
        )

    def run(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        cmd = [str(self.bin / tool), *args]
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd] if self.root else cmd,
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-200:]}")

    def init(self) -> str:
        if self.root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.run(
            "initdb",
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        return self.createdb("bench")

    def createdb(self, name: str) -> str:
        """A new database ``name`` in the cluster; its SQLAlchemy URL."""
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                print(f"bench: could not stop the private PostgreSQL: {exc}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)


def noteworthy(log: str) -> list[str]:
    """Distinct errors, tracebacks (with their exception line) and warnings in a server log."""
    lines, out = log.splitlines(), []
    for i, ln in enumerate(lines):
        if ln.startswith("Traceback"):
            out.append(
                "Traceback: " + next((x for x in lines[i + 1 :] if x and not x[0].isspace()), "?")
            )
        elif any(f" {lvl} " in ln for lvl in ("ERROR", "CRITICAL", "WARNING")):
            out.append(re.sub(r"\d+", "N", ln.split(" ", 2)[-1]))
    return [f"{c}× {x[:150]}" for x, c in Counter(out).most_common(6)]
