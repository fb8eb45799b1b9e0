"""Overload bench: does `fwbot serve` still ack within 3 s under a flood of 10× its capacity,
and answer every acknowledged question once (issue 25, item 3)?

    .venv/bin/python bench/bench_overload.py [--seconds 10] [--factor 10] [--pg]

One `fwbot serve` (HTTP, default FWBOT_MAX_QUEUED_WORK) on a local fake Slack whose
chat.postMessage takes ``--slack-latency`` s (0.2: a Slack that answers as Slack does), on
SQLite (``--pg``: a fresh schema of the local PostgreSQL). Each request is a signed
``app_mention`` in a thread of its own, sent once (no retry, Slack's 3 s timeout).

1. **baseline** (un-flooded, measures capacity): 4 senders, each sending a mention and waiting
   for its answer before the next, for ``--seconds``: answers per second is the capacity.
2. **flood**: ``--factor`` × capacity mentions per second for ``--seconds``, sent on schedule
   whatever the answers; then up to ``--wait`` s for every acknowledged one's answer.

Prints one table (phase | measure | value | target | verdict): acks p50 / p95 / max, % acked
within 3 s, busy replies, answers, lost (acked, no answer), duplicated (> 1 answer or > 1 busy
line), the server's /metrics (queue depth, shed, reply latency). A report: always exits 0.
The machine may be shared: figures are noisy; the baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_slack import FakeSlackAPI, SlackRequests, post  # noqa: E402
from local_slack.serve_process import start_serve, stop_serve  # noqa: E402

SECRET, BOT_TOKEN, ADMIN_TOKEN = "bench-signing-secret", "xoxb-test", "bench-admin-token"
SLACK_TIMEOUT = 3.0  # s: Slack gives up on an ack after this
START_TIMEOUT = 300  # s: a fresh data dir builds the search index first
BUSY_EVENT, REPLY_EVENT = "fwbot_busy", "fwbot_reply"  # bot.slack_api.events
SENDERS = 4  # baseline: concurrent senders, each waiting for its answer


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, phase: str, measure: str, value: object, target: str = "—", ok=None) -> None:
        verdict = "info" if ok is None else ("ok" if ok else "FAIL")
        self.rows.append((phase, measure, str(value), target, verdict))

    def print(self) -> None:
        head = ("phase", "measure", "value", "target", "verdict")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(5)]
        for r in [head, tuple("-" * w for w in widths), *self.rows]:
            print(" | ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)))


class Mentions:
    """Signed mentions, each in a thread of its own, and what the bot posted in each."""

    def __init__(self, fake: FakeSlackAPI, url: str) -> None:
        self.fake, self.url, self.build = fake, url, SlackRequests(SECRET)
        self.run, self.base = secrets.token_hex(3).upper(), int(time.time())
        self.lock = threading.Lock()
        self.n = 0
        self.acks: dict[str, float] = {}  # ts -> ack seconds (only acked: status 200)
        self.sent: dict[str, float] = {}  # ts -> time.monotonic() when sent (Call.at's clock)
        self.failed: list[str] = []

    def send(self, channel: str) -> str:
        with self.lock:
            i, self.n = self.n, self.n + 1
        ts = f"{self.base}.{i:06d}"
        event = self.build.app_mention_event(
            f"<@UBOT> What does the framework say about training? ({i})",
            user=f"U{i % 7 + 1}",
            channel=channel,
            ts=ts,
        )
        self.fake.add_message(channel, event["text"], user=event["user"], ts=ts)
        req = self.build.event(event, event_id=f"Ev{self.run}{i:06d}")
        start = time.monotonic()
        with self.lock:
            self.sent[ts] = start
        try:
            status = post(self.url, req, timeout=SLACK_TIMEOUT)[0]
        except OSError:
            status = -1
        took = time.monotonic() - start
        with self.lock:
            if status == 200:
                self.acks[ts] = took
            else:
                self.failed.append(ts)
        return ts

    def posts(self, kind: str) -> dict[str, list]:
        """The bot's ok posts with metadata ``kind``, by the thread they are in."""
        got: dict[str, list] = {}
        for call in self.fake.calls("chat.postMessage"):
            meta = call.params.get("metadata") or {}
            if isinstance(meta, str):
                meta = json.loads(meta)
            if call.ok and meta.get("event_type") == kind:
                got.setdefault(str(call.params.get("thread_ts") or ""), []).append(call)
        return got


def metrics(base: str) -> dict[str, float]:
    req = urllib.request.Request(
        base.replace("/slack/events", "/metrics"),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    out: dict[str, float] = {}
    with urllib.request.urlopen(req, timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("fwbot_work_") or line.startswith("fwbot_reply_seconds_"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
    return out


def baseline(table: Table, m: Mentions, seconds: float) -> float:
    """Closed loop: capacity (answers/s) and un-flooded acks."""
    stop = time.monotonic() + seconds
    answered = [0]
    lock = threading.Lock()

    def sender() -> None:
        while time.monotonic() < stop:
            ts = m.send("CBASE")
            deadline = time.monotonic() + 60
            while ts not in m.posts(REPLY_EVENT) and time.monotonic() < deadline:
                time.sleep(0.02)
            with lock:
                answered[0] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    capacity = answered[0] / (time.monotonic() - t0)
    acks = list(m.acks.values())
    table.add("baseline", f"requests ({SENDERS} senders, each waits its answer)", len(acks))
    table.add("baseline", "capacity (answers / s)", f"{capacity:.1f}")
    report_acks(table, "baseline", acks, m.n)
    return capacity


def report_acks(table: Table, phase: str, acks: list[float], sent: int) -> None:
    table.add(
        phase,
        "acks p50 / p95 / max ms",
        "{:.0f} / {:.0f} / {:.0f}".format(
            *(1000 * x for x in (pct(acks, 0.5), pct(acks, 0.95), max(acks, default=float("nan"))))
        ),
    )
    within = sum(a <= SLACK_TIMEOUT for a in acks)
    share = 100.0 * within / sent if sent else 0.0
    table.add(
        phase, "acked within 3 s", f"{within} / {sent} ({share:.1f} %)", "100 %", within == sent
    )


def flood(table: Table, m: Mentions, rate: float, seconds: float, wait: float) -> None:
    """Open loop: ``rate`` mentions a second for ``seconds``, then the answers."""
    total = int(rate * seconds)
    pool = ThreadPoolExecutor(max_workers=96, thread_name_prefix="flood")
    t0 = time.monotonic()
    futures = []
    for i in range(total):
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        futures.append(pool.submit(m.send, "CFLOOD"))
    sending = time.monotonic() - t0
    sent = [f.result() for f in futures]
    pool.shutdown()
    acked = [ts for ts in sent if ts in m.acks]
    table.add(
        "flood",
        "requests sent (rate asked / achieved per s)",
        f"{total} ({rate:.0f} / {total / sending:.0f})",
    )
    report_acks(table, "flood", [m.acks[ts] for ts in acked], total)
    end = time.monotonic() + wait
    while time.monotonic() < end and not all(ts in m.posts(REPLY_EVENT) for ts in acked):
        time.sleep(0.5)
    done_after = time.monotonic() - t0
    time.sleep(3.0)  # late duplicates
    answers, busy = m.posts(REPLY_EVENT), m.posts(BUSY_EVENT)
    got = [ts for ts in acked if ts in answers]
    told = [ts for ts in acked if ts in busy]
    table.add("flood", "busy replies (deferred, told once)", f"{len(told)} / {len(acked)} acked")
    lag = [busy[ts][0].at - m.sent[ts] for ts in told]
    table.add(
        "flood",
        "  busy line p50 / p95 s after the request",
        f"{pct(lag, 0.5):.1f} / {pct(lag, 0.95):.1f}",
    )
    table.add(
        "flood",
        "eventual answers",
        f"{len(got)} / {len(acked)} acked",
        f"= {len(acked)}",
        len(got) == len(acked),
    )
    late = [answers[ts][0].at - m.sent[ts] for ts in got]
    table.add(
        "flood",
        "  answer p50 / p95 / max s after the request",
        f"{pct(late, 0.5):.1f} / {pct(late, 0.95):.1f} / {max(late, default=0):.1f}",
    )
    table.add("flood", "  all answered (s from the flood's start)", f"{done_after:.0f}")
    lost = len(acked) - len(got)
    dup = sum(len(answers[ts]) > 1 for ts in got) + sum(len(busy[ts]) > 1 for ts in told)
    table.add("flood", "lost (acked, no answer)", lost, "= 0", lost == 0)
    table.add("flood", "duplicated (> 1 answer or busy line)", dup, "= 0", dup == 0)


def database_url(use_pg: bool, tmp: Path) -> tuple[str, Callable[[], None]]:
    if not use_pg:
        return f"sqlite:///{tmp / 'fwbot.db'}", lambda: None
    from sqlalchemy import create_engine, text

    schema = f"bench_overload_{secrets.token_hex(4)}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}", drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="of the baseline and the flood")
    ap.add_argument("--factor", type=float, default=10.0, help="flood rate / capacity")
    ap.add_argument("--wait", type=float, default=300.0, help="s for the answers after a flood")
    ap.add_argument("--slack-latency", type=float, default=0.2, help="chat.postMessage s")
    ap.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432 (db test)")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {load0:.2f}; "
        f"{'PostgreSQL' if args.pg else 'SQLite'}, Slack latency {args.slack_latency} s"
    )
    table = Table()
    with tempfile.TemporaryDirectory(prefix="fwbot-bench-overload-") as tmp_name:
        tmp = Path(tmp_name)
        url, drop = database_url(args.pg, tmp)
        proc = None
        try:
            with FakeSlackAPI(tokens=(BOT_TOKEN,)) as fake:
                env = {
                    k: v for k, v in os.environ.items() if not k.startswith(("FWBOT_", "SLACK_"))
                }
                env.update(
                    FWBOT_DATA_DIR=str(tmp / "data"),
                    ANONYMIZED_TELEMETRY="False",
                    SLACK_BOT_TOKEN=BOT_TOKEN,
                    SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=fake.base_url,
                    DATABASE_URL=url,
                    FWBOT_ADMIN_PORT="0",
                    FWBOT_ADMIN_TOKEN=ADMIN_TOKEN,
                    FWBOT_SCHEDULER="false",
                    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
                )
                with (tmp / "server.log").open("a", encoding="utf-8") as err:
                    proc, port = start_serve(env, err, timeout=START_TIMEOUT)
                base = f"http://127.0.0.1:{port}/slack/events"
                fake.delay("chat.postMessage", args.slack_latency)
                m = Mentions(fake, base)
                print("… baseline", file=sys.stderr, flush=True)
                capacity = baseline(table, m, args.seconds)
                limit = metrics(base).get("fwbot_work_limit", float("nan"))
                table.add("baseline", "FWBOT_MAX_QUEUED_WORK (fwbot_work_limit)", f"{limit:.0f}")
                print("… flood", file=sys.stderr, flush=True)
                fm = Mentions(fake, base)
                fm.base += 1_000  # threads of their own
                flood(table, fm, args.factor * capacity, args.seconds, args.wait)
                for name, value in sorted(metrics(base).items()):
                    if "_bucket" in name or "_created" in name:
                        continue
                    table.add("metrics", name, f"{value:g}")
        finally:
            if proc is not None:
                stop_serve(proc)
            drop()
            log = (tmp / "server.log").read_text(encoding="utf-8", errors="replace")
            lines = log.splitlines()
            problems = [i for i, ln in enumerate(lines) if " ERROR " in ln or "Traceback" in ln]
            table.add("server", "log lines ERROR / Traceback", len(problems))
            for i in problems[:3]:
                end = next((j for j in range(i + 1, len(lines)) if lines[j][:1].isdigit()), i + 1)
                print("server log: " + "\n  ".join(x[:200] for x in lines[i : min(end, i + 25)]))
    table.print()
    print(f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end (shared machine)")


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
