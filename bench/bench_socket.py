"""Benchmark of `fwbot serve` in Socket Mode (bolt's builtin adapter) against the fake Slack.

    .venv/bin/python bench/bench_socket.py [--steady 40] [--refreshes 3] [--data-dir DIR]

Starts a SocketModeSlackAPI (fake Web API + fake Socket Mode server, loopback only) and the
real server in Socket Mode (SLACK_APP_TOKEN set), warms it up, then, with app_mention events
(one channel each, so replies are counted per request):

* steady state: one mention every 50 ms; ack latency (the fake's delivery -> the ack);
* across a refresh: mentions every 100 ms for a few seconds, a ``refresh_requested``
  disconnect one second in (the fake closes the old connection ``--close-after`` s later);
  the ack latency of every request of the window, those sent during the refresh included;
* time back after a close with 1001, after a TCP reset, after a FIN without a close frame
  and after a silent drop (no close, no pong): the fault to the new connection's hello, and
  the ack latency of a request sent at the fault (it waits for the new connection);
* CPU of the serve process (utime + stime from /proc/<pid>/stat) while idle and while
  waiting to reconnect after each fault, as a share of one core;
* lost replies (no chat.postMessage in the request's channel within 60 s of the end) and
  duplicated ones (more than one).

Prints one table. A report, not a test: the exit code is always 0. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_slack import SlackRequests  # noqa: E402
from local_slack.serve_socket import socket_mode_env, start_socket_serve, stop_serve  # noqa: E402
from local_slack.socket_mode import SocketModeServer, SocketModeSlackAPI  # noqa: E402

BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 300  # s: a fresh data dir builds the search index first
RECONNECT_TIMEOUT = 120  # s for the client to come back after a fault
REPLY_GRACE = 60  # s after the last request before a missing reply counts as lost
SLACK_ACK_LIMIT = 3.0  # s
QUESTIONS = [
    "What does objective 1.3 say?",
    "Which objective is about training?",
    "How do we work with the private sector?",
    "What is our vision?",
    "Which objective is about data quality?",
]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Traffic:
    """Mentions, one channel each; their ack latencies and replies from the fake."""

    def __init__(self, slack: SocketModeSlackAPI) -> None:
        self.slack = slack
        self.requests = SlackRequests("unused")
        self.sent: dict[str, str] = {}  # channel -> first envelope id
        self._n = 0

    @property
    def socket(self) -> SocketModeServer:
        return self.slack.socket_mode

    def mention(self) -> str:
        self._n += 1
        channel = f"CB{self._n:06d}"
        event = self.requests.app_mention_event(
            f"<@UBOT> {QUESTIONS[self._n % len(QUESTIONS)]}",
            user="U1",
            channel=channel,
            ts=f"{time.time():.6f}",
        )
        envelope_id = self.socket.deliver_event(self.requests.event(event).parsed())
        self.sent[channel] = envelope_id
        return envelope_id

    def latency(self, first_id: str, timeout: float = 30.0) -> float:
        """Seconds from the first delivery to the first ack of any attempt (nan: none)."""
        try:
            acked = self.socket.wait_for_any_ack(first_id, timeout)
        except AssertionError:
            return float("nan")
        return (acked.acked_at or 0.0) - self.socket.envelope(first_id).created_at

    def replies(self) -> dict[str, int]:
        counts = dict.fromkeys(self.sent, 0)
        for call in self.slack.calls("chat.postMessage"):
            channel = call.params.get("channel")
            if channel in counts:
                counts[channel] += 1
        return counts


def fault_round(
    traffic: Traffic, pid: int, name: str, fault: Callable[[], object]
) -> tuple[float, float, float]:
    """(time back s, ack latency s of a request sent at the fault, CPU share from the fault
    until the later of the reconnection and 2 s after it)."""
    [old] = traffic.socket.wait_connected(1, timeout=RECONNECT_TIMEOUT)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    fault()
    at_fault = traffic.mention()
    try:
        [new] = traffic.socket.wait_connected(1, timeout=RECONNECT_TIMEOUT, after=old.id)
        back = (new.hello_at or 0.0) - t0
    except AssertionError:
        print(f"warning: {name}: no new connection within {RECONNECT_TIMEOUT} s")
        back = float("nan")
    latency = traffic.latency(at_fault, RECONNECT_TIMEOUT)
    # over at least 2 s: a reconnection in milliseconds would otherwise show the answer to
    # the request sent at the fault as a share of a window of a few milliseconds
    time.sleep(max(0.0, t0 + 2.0 - time.monotonic()))
    cpu = (cpu_seconds(pid) - cpu0) / max(1e-9, time.monotonic() - t0)
    return back, latency, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steady", type=int, default=40, help="mentions in the steady state")
    ap.add_argument("--refreshes", type=int, default=3, help="refresh windows")
    ap.add_argument("--closes", type=int, default=2, help="closes with 1001")
    ap.add_argument(
        "--close-after", type=float, default=5.0, help="s from a disconnect message to the close"
    )
    ap.add_argument("--data-dir", type=Path, help="FWBOT_DATA_DIR to reuse (default: a new one)")
    ap.add_argument("--skip-slow", action="store_true", help="no FIN or silent drop (~2 min)")
    ap.add_argument("--log", type=Path, help="keep a copy of the server's log here")
    ap.add_argument(
        "--clients",
        default="bolt,fwbot",
        help="FWBOT_SOCKET_CLIENT values to measure, in order (bolt: the baseline)",
    )
    args = ap.parse_args()
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}; "
        f"clients: {args.clients} (bolt: its builtin SocketModeHandler, the baseline); "
        f"close after disconnect: {args.close_after:.1f} s"
    )
    tables = {client: measure(client, args) for client in args.clients.split(",")}
    names = list(tables)
    head = ("metric", *[f"{c}: {h}" for c in names for h in ("p50 / value", "p99", "max")])
    rows = [
        (metric, *[cell for c in names for cell in tables[c][metric][:3]])
        for metric in tables[names[0]]
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def measure(client: str, args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """One run of the whole scenario with ``FWBOT_SOCKET_CLIENT=client``: metric -> cells."""
    tmp = tempfile.TemporaryDirectory(prefix="fwbot-bench-socket-")
    slack = SocketModeSlackAPI(tokens=(BOT_TOKEN,), close_after=args.close_after).start()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FWBOT_FRAMEWORK", "CHROMA_HOST", "CHROMA_PORT")
    }
    env = socket_mode_env(env, slack, bot_token=BOT_TOKEN)
    env.update(
        FWBOT_DATA_DIR=str(args.data_dir or Path(tmp.name) / "data"),
        ANONYMIZED_TELEMETRY="False",
        PYTHONIOENCODING="utf-8",
        DATABASE_URL=f"sqlite:///{Path(tmp.name) / 'fwbot.db'}",
        FWBOT_SOCKET_CLIENT=client,
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    log_path = Path(tmp.name) / "server.log"
    rows: list[tuple[str, ...]] = []
    proc = None
    sigterm_s = float("nan")
    try:
        with log_path.open("w", encoding="utf-8") as log:
            proc, _ = start_socket_serve(env, log, slack, timeout=START_TIMEOUT)
        traffic = Traffic(slack)
        warm = [traffic.mention() for _ in range(3)]
        for envelope_id in warm:
            traffic.latency(envelope_id)
        deadline = time.monotonic() + REPLY_GRACE
        while min(traffic.replies().values()) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)

        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(5)
        idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)

        steady = []
        for _ in range(args.steady):
            steady.append(traffic.mention())
            time.sleep(0.05)
        steady_s = [traffic.latency(e) for e in steady]

        window: list[str] = []
        for _ in range(args.refreshes):
            traffic.socket.wait_connected(1, timeout=RECONNECT_TIMEOUT)
            start, refreshed = time.monotonic(), False
            while time.monotonic() - start < args.close_after + 3:
                if not refreshed and time.monotonic() - start >= 1.0:
                    traffic.socket.refresh()
                    refreshed = True
                window.append(traffic.mention())
                time.sleep(0.1)
        refresh_s = [traffic.latency(e) for e in window]

        faults: list[tuple[str, Callable[[], object], int]] = [
            ("close 1001", lambda: traffic.socket.close(1001, "going away"), args.closes),
            ("TCP reset (RST)", lambda: traffic.socket.drop("rst"), 1),
        ]
        if not args.skip_slow:
            faults += [
                ("TCP FIN, no close frame", lambda: traffic.socket.drop("fin"), 1),
                ("silent drop (no pong)", lambda: traffic.socket.drop("silent"), 1),
            ]
        fault_rows = []
        for name, fault, times in faults:
            results = [fault_round(traffic, proc.pid, name, fault) for _ in range(times)]
            fault_rows.append((name, results))

        deadline = time.monotonic() + REPLY_GRACE
        while min(traffic.replies().values()) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # a duplicate would come right after
        replies = traffic.replies()
    finally:
        if proc is not None:
            stopping = time.monotonic()
            stop_serve(proc, grace=10)
            sigterm_s = time.monotonic() - stopping
        slack.stop()
        if args.log and log_path.exists():
            args.log.write_text(log_path.read_text(encoding="utf-8", errors="replace"))
        tmp.cleanup()

    def ms(xs: list[float]) -> tuple[str, str, str, str]:
        a = np.array([x for x in xs if x == x]) * 1e3
        if not len(a):
            return ("—", "—", "—", "0")
        p50, p99 = np.percentile(a, [50, 99])
        return (f"{p50:.1f}", f"{p99:.1f}", f"{a.max():.1f}", str(len(a)))

    rows.append(("ack ms, steady (1 mention / 50 ms)", *ms(steady_s)))
    rows.append(("ack ms, across a refresh (all of the window)", *ms(refresh_s)))
    slow = sum(x > SLACK_ACK_LIMIT for x in refresh_s)
    rows.append(
        (f"  acks over {SLACK_ACK_LIMIT:.0f} s in the refresh windows", str(slow), "", "", "")
    )
    for name, results in fault_rows:
        rows.append((f"time back ms, {name}", *ms([r[0] for r in results])))
        rows.append(
            (f"  ack ms of a request sent at the fault, {name}", *ms([r[1] for r in results]))
        )
        cpu = max(r[2] for r in results)
        rows.append(
            (f"  CPU while waiting, {name} (% of a core, max)", f"{cpu * 100:.0f}", "", "", "")
        )
    rows.append(("CPU idle, connected (% of a core)", f"{idle_cpu * 100:.1f}", "", "", ""))
    rows.append(("SIGTERM to exit, idle (s)", f"{sigterm_s:.2f}", "", "", ""))
    unacked = sum(
        1 for e in traffic.sent.values() if traffic.latency(e, 0) != traffic.latency(e, 0)
    )
    rows.append(("requests never acked", str(unacked), "", "", ""))
    rows.append(
        ("lost replies (none in 60 s)", str(sum(n == 0 for n in replies.values())), "", "", "")
    )
    rows.append(
        (
            "duplicated replies (more than one)",
            str(sum(n > 1 for n in replies.values())),
            "",
            "",
            "",
        )
    )
    redelivered = sum(1 for e in traffic.socket.envelopes() if e.retry_attempt > 0)
    rows.append(("redeliveries by the fake (unacked in 3 s)", str(redelivered), "", "", ""))

    return {r[0]: r[1:] for r in rows}


if __name__ == "__main__":
    main()
