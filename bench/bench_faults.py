"""Fault bench: does `fwbot serve` lose or repeat Slack work when the process or the database fails?

    .venv/bin/python bench/bench_faults.py [--quick] [--only kill9,sigterm,postgres,flood]

Each scenario runs its own `fwbot serve` against its own FakeSlackAPI, on a fresh database
(the data dir with the search index is shared). A reply is an ok chat.postMessage in the
mention's thread; lost: an event with none after up to 90 s; duplicated: one with more.

* kill9: postMessage slowed to 3 s; N mentions, all acked; 1 s later `kill -9`; restart on the
  same DB and data dir, postMessage at 0.2 s.
* sigterm: N mentions 50 ms apart, postMessage at 1.5 s; SIGTERM when half are acked: exit
  time and code; restart; what was refused while stopping is sent again (Slack's retry).
* postgres: a private PostgreSQL, stopped for 2 s during a burst of N mentions over 4 s;
  refused sends are retried like Slack's (X-Slack-Retry-Num 1..3), on a compressed schedule.
* flood: N unsigned POSTs, half malformed JSON, half 500 KB: log bytes per request, statuses.

Prints one table (scenario | measure | value | target | verdict), then the distinct errors and
warnings in each scenario's server log. A report, not a test: always exits 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fault_kit import (  # first: it puts the repository on sys.path
    BOT_TOKEN,
    RETRIES,
    SECRET,
    Events,
    PrivatePostgres,
    Report,
    Servers,
    Slack,
    busy_lines,
    noteworthy,
    replies,
)

from local_slack import FakeSlackAPI, SignedRequest, SlackRequests, post

REPLY_WAIT, SETTLE = 90.0, 3.0  # s: the wait for every reply, then for late duplicates
EXIT_LIMIT, LOG_BYTES_LIMIT = 10.0, 200.0
APOLOGY = "something went wrong"  # the text of bot.slack.blocks.error_message
SCENARIOS = ("kill9", "sigterm", "postgres", "flood")


def mentions(fake: FakeSlackAPI, n: int, channel: str) -> Events:
    """N app_mention events, each the root of its own thread of ``channel``."""
    build, base, run = SlackRequests(SECRET), int(time.time()), secrets.token_hex(3).upper()
    topics = ["training", "cybercrime", "data protection", "funding", "border security"]
    events = [
        (
            build.app_mention_event(
                f"<@UBOT> What does the framework say about {topics[i % 5]}? ({i})",
                user=f"U{i % 7 + 1}",
                channel=channel,
                ts=f"{base}.{i:06d}",
            ),
            f"Ev{run}{i:05d}",
        )
        for i in range(n)
    ]
    for event, _ in events:
        fake.add_message(channel, event["text"], user=event["user"], ts=event["ts"])
    return events


def outcome(
    report: Report, scenario: str, fake: FakeSlackAPI, events: Events, t0: float, since: str
) -> None:
    """Waits for the replies; lost, duplicated, apologies, and ``t0`` → the last first reply."""
    while not all(replies(fake, events).values()) and time.monotonic() < t0 + REPLY_WAIT:
        time.sleep(0.1)
    time.sleep(SETTLE)
    got = replies(fake, events)
    lost, dup = sum(not c for c in got.values()), sum(len(c) > 1 for c in got.values())
    report.add(scenario, "lost (no reply)", lost, "= 0", lost == 0)
    report.add(scenario, "duplicated (> 1 reply)", dup, "= 0", dup == 0)
    report.add(scenario, '  "busy" lines (back-pressure: told, then answered)', busy_lines(fake))
    report.add(
        scenario,
        "  replies that are apologies",
        sum(APOLOGY in str(c.params.get("text")) for cs in got.values() for c in cs),
    )
    if firsts := [calls[0].at - t0 for calls in got.values() if calls]:
        report.add(
            scenario,
            f"last reply s after {since}",
            f"{max(firsts):.1f}" if max(firsts) > 0 else "0 (all earlier)",
        )


# ---- scenarios --------------------------------------------------------------------------------


def kill9(report: Report, servers: Servers, n: int, name: str) -> None:
    proc, url = servers.start()
    servers.fake.delay("chat.postMessage", 3.0)
    slack, events = Slack(url), mentions(servers.fake, n, "CKILL9")
    statuses, threads = slack.start(events)
    for t in threads:
        t.join()
    acked = sum(s == 200 for s in statuses)
    report.add(name, "acked before the kill", f"{acked} / {n}", f"= {n}", acked == n)
    time.sleep(1.0)  # the first replies reach the (slow) fake: posts in flight at the kill
    killed = time.monotonic()
    proc.kill()  # kill -9: no handler, no grace
    proc.wait()
    servers.fake.delay("chat.postMessage", 0.2)  # Slack's own latency, not the slowed one
    t0 = time.monotonic()
    servers.start()
    report.add(name, "restart s (until it listens)", f"{time.monotonic() - t0:.1f}")
    outcome(report, name, servers.fake, events, t0, "the restart")
    report.add(
        name,
        "  posts in flight at the kill",
        sum(  # Call.at: when the post arrived
            c.at < killed for c in servers.fake.calls("chat.postMessage")
        ),
    )


def sigterm(report: Report, servers: Servers, n: int, name: str) -> None:
    proc, url = servers.start()
    servers.fake.delay("chat.postMessage", 1.5)
    slack, events = Slack(url), mentions(servers.fake, n, "CSIGTERM")
    statuses, threads = slack.start(events, pace=0.05, retries=())  # no retry: see below
    while sum(s == 200 for s in statuses) < n // 2 and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code: int | None = proc.wait(timeout=EXIT_LIMIT + 10)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - signalled
    for t in threads:
        t.join()
    report.add(
        name,
        "exit s (SIGTERM → process gone)",
        f"{took:.1f}" if code is not None else f"> {took:.0f}",
        f"≤ {EXIT_LIMIT:.0f}",
        code is not None and took <= EXIT_LIMIT,
    )
    report.add(name, "exit code", code, "= 0", code == 0)
    refused = [events[i] for i, s in enumerate(statuses) if s != 200]
    report.add(name, "acked / refused while stopping", f"{n - len(refused)} / {len(refused)}")
    log = servers.log.read_text(encoding="utf-8")
    report.add(
        name,
        "  jobs handed back (server log)",
        sum(
            int(m.group(1))
            for m in re.finditer(r"(\d+) (?:acknowledged )?job(?:\(s\))? [^\n]*handed back", log)
        ),
    )
    servers.fake.delay("chat.postMessage", 0.2)
    t0 = time.monotonic()
    _, slack.url = servers.start()
    for t in slack.start(refused, first=1, retries=RETRIES[1:])[1]:
        t.join()
    outcome(report, name, servers.fake, events, t0, "the restart")


def postgres(report: Report, servers: Servers, n: int, name: str) -> None:
    _, url = servers.start()
    slack, events = Slack(url), mentions(servers.fake, n, "CPOSTGRES")
    back = [0.0]

    def outage() -> None:
        time.sleep(1.5)
        assert servers.pg is not None
        servers.pg.stop("fast")
        time.sleep(2.0)
        servers.pg.start()
        back[0] = time.monotonic()

    cut = threading.Thread(target=outage)
    cut.start()
    threads = slack.start(events, pace=4.0 / n)[1]  # the burst: N over 4 s
    cut.join()
    for t in threads:
        t.join()
    if not back[0]:
        raise RuntimeError("the PostgreSQL outage failed (see its traceback above)")
    report.add(
        name,
        "failed sends / retries / Slack gave up",
        f"{slack.sent['refused']} / {slack.sent['retry']} / {slack.sent['gave up']}",
    )
    outcome(report, name, servers.fake, events, back[0], "PostgreSQL is back")


def flood(report: Report, servers: Servers, n: int, name: str) -> None:
    _, url = servers.start()
    time.sleep(1.0)  # the start's own log lines are written
    before = servers.log.stat().st_size
    big = '{"type": "event_callback", "pad": "' + "x" * 500_000 + '"}'
    statuses: list[int | str] = [0] * n

    def send(i: int) -> None:
        req = SignedRequest(
            big if i % 2 else '{"event": {"type',
            {  # unsigned
                "Content-Type": "application/json"
            },
        )
        try:
            statuses[i] = post(url, req, timeout=10)[0]
        except OSError as exc:
            statuses[i] = type(exc).__name__

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    grown = (servers.log.stat().st_size - before) / n
    report.add(
        name,
        "log bytes per rejected request",
        f"{grown:.0f}",
        f"≤ {LOG_BYTES_LIMIT:.0f}",
        grown <= LOG_BYTES_LIMIT,
    )
    seen = Counter(statuses)
    report.add(
        name,
        "statuses",
        ", ".join(f"{s}×{c}" for s, c in sorted(seen.items(), key=str)),
        "401 / 413",
        set(seen) <= {401, 413},
    )
    with urllib.request.urlopen(url.replace("/slack/events", "/healthz"), timeout=10) as resp:
        report.add(name, "  GET /healthz after the flood", resp.status)


def run(scenario: str, report: Report, data_dir: Path, tmp: Path, n: int) -> None:
    """One scenario with its own fake Slack, servers (and PostgreSQL), all stopped after."""
    name, body = RUNS[scenario]
    pg, database_url = None, ""
    try:
        if scenario == "postgres":
            pg = PrivatePostgres()
            if reason := pg.unavailable:
                return report.add(name, f"skipped: {reason}", "")
            try:
                database_url = pg.init()
            except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as exc:
                return report.add(name, f"skipped: {exc}"[:110], "")
        with FakeSlackAPI(tokens=(BOT_TOKEN,)) as fake:
            servers = Servers(fake, data_dir, tmp, pg, database_url)
            try:
                body(report, servers, n, name)
            finally:
                servers.stop_all(report, name)
    finally:
        if pg is not None:
            pg.remove()


RUNS: dict[str, tuple[str, Callable[[Report, Servers, int, str], None]]] = {
    "kill9": ("kill -9", kill9),
    "sigterm": ("SIGTERM", sigterm),
    "postgres": ("PostgreSQL restart", postgres),
    "flood": ("unsigned flood", flood),
}

# ---- main -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer events per scenario")
    ap.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run, of {','.join(SCENARIOS)}",
    )
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(only) - set(SCENARIOS):
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    sizes = dict(zip(SCENARIOS, (6, 10, 20, 20) if args.quick else (12, 20, 40, 50), strict=True))
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {load0:.2f}; scenarios "
        f"{', '.join(f'{s} (N={sizes[s]})' for s in only)}"
    )
    report = Report()
    with tempfile.TemporaryDirectory(prefix="fwbot-bench-faults-") as shared:
        for scenario in only:  # the data dir (index) is built by the first start, then reused
            print(f"… {scenario}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix=f"fwbot-bench-{scenario}-") as tmp:
                try:
                    run(scenario, report, Path(shared) / "data", Path(tmp), sizes[scenario])
                except Exception as exc:  # a report, not a test: the row says what broke
                    traceback.print_exc()
                    report.add(scenario, f"error: {type(exc).__name__}: {exc}"[:110], "")
    head = ("scenario", "measure", "value", "target", "verdict")
    widths = [max(len(r[i]) for r in [head, *report.rows]) for i in range(5)]
    for r in [head, tuple("-" * w for w in widths), *report.rows]:
        print(
            " | ".join(
                x.rjust(w) if i in (2, 3) else x.ljust(w)
                for i, (x, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    for scenario, log in report.logs.items():
        if notes := noteworthy(log):
            print(f"server log, {scenario}: errors, tracebacks, warnings (numbers as N):")
            print("\n".join(f"  {x}" for x in notes))
    print(
        f"elapsed {time.perf_counter() - started:.0f} s; load average {load0:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end (the bench, the fake and the server share the CPU)"
    )


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test: say what broke, exit 0
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
