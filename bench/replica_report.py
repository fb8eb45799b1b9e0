"""The figures of bench_replicas.py: what was sent and what came back, per request and per
replica, and the table (metric | baseline | N replicas with faults | target | verdict)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import replica_nudges as nudges
from bench_slack import counter_total
from fault_kit import SLACK_TIMEOUT, Slack  # first: it puts the repository on sys.path

from local_slack import FakeSlackAPI
from local_slack.recording import Call
from local_slack.round_robin import RoundRobinProxy
from local_slack.serve_process import admin_port

LATE_EVERY = 6  # every 6th event is sent again although acked (Slack missed the 200)
TICK = os.sysconf("SC_CLK_TCK")
APOLOGY = "something went wrong"  # the text of bot.slack.blocks.error_message


@dataclass
class Req:
    kind: str  # mention | align | click
    key: tuple[str, str]  # (channel, ts) of a mention; ("token", t) of a response URL
    send: Any = None  # what is sent: (event, event id) or a SignedRequest
    status: int = 0  # the last answer (-1: none)
    first_s: float = float("nan")  # seconds to the first attempt's answer
    first_ok: bool = False
    t0: float = 0.0
    replies: list[Call] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.status == 200


@dataclass
class Replica:
    label: str
    proc: subprocess.Popen[str]
    port: int
    cpu0: float = 0.0
    cpu1: float = 0.0
    metrics: str = ""
    started: float = field(default_factory=time.monotonic)  # when it listened
    stopped: float = 0.0  # when it was killed


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def scrape(replica: Replica) -> str:
    try:
        url = f"http://127.0.0.1:{admin_port(replica.proc)}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode()
    except (OSError, KeyError):
        return ""


class Figures:
    """The rows and notes of a run (mixed into bench_replicas.Run, which fills these)."""

    label: str
    url: str
    fake: FakeSlackAPI
    slack: Slack
    proxy: RoundRobinProxy
    replicas: list[Replica]
    notes: list[str]
    rows: dict[str, tuple[str, bool | None]]
    slots: dict
    claimed: Counter[str]
    t0: float
    chroma_cpu: float

    def describe(self, r: Req) -> str:
        """When a request was sent, and each attempt of an event: (retry num, status, s)."""
        out = f"sent at {r.t0 - self.t0:+.1f} s"
        if r.kind == "mention":
            tries = [a for a in self.slack.attempts if a[0] == r.send[1]]
            out += f", event {r.send[1]}, attempts " + ", ".join(
                f"#{n} → {status} in {s:.1f} s" for _, n, status, s in tries
            )
        return out

    def alive_share(self, r: Replica, wall: float) -> float:
        """CPU seconds over the seconds the replica was up during the burst and the wait."""
        up = (r.stopped or self.t0 + wall) - max(r.started, self.t0)
        return (r.cpu1 - r.cpu0) / up if up > 0 else 0.0

    def nudged(self) -> None:
        """Waits (up to 40 s) until every owner due 10 s ago has a nudge DM; the rows. An
        owner due in the last 10 s may have had theirs or not; none may have two, or one
        before their slot."""
        due = nudges.due(self.slots, nudges.now_utc() - timedelta(seconds=10))
        deadline = time.monotonic() + 40
        while any(not nudges.dms(self.fake)[o] for o in due) and time.monotonic() < deadline:
            time.sleep(0.5)
        got = nudges.dms(self.fake)
        exact = sum(got[o] == 1 for o in due)
        self.row("nudges: owners due / exactly 1 DM", f"{len(due)} / {exact}", exact == len(due))
        self.row("  owners with > 1 nudge DM", sum(n > 1 for n in got.values()), None, zero=True)
        offset = time.time() - time.monotonic()  # the fake's Call.at is this process's clock
        early = [
            owner
            for owner, calls in nudges.dm_calls(self.fake).items()
            for c in calls
            if owner in self.slots and c.at + offset < self.slots[owner].timestamp()
        ]
        if early:
            self.notes.append(f"nudge DM(s) before the owner's nudge time: {', '.join(early)}")
        try:
            found = nudges.passes(self.url, self.fake)
        except Exception as exc:  # the database is the thing under test: say so, go on
            self.notes.append(f"send_claims could not be read: {type(exc).__name__}: {exc}")
            return
        names = {r.proc.pid: r.label for r in self.replicas}
        self.claimed = Counter(names.get(p.pid, str(p.pid)) for p in found)
        self.row(
            "nudge passes that claimed (by replica)",
            f"{len(found)} ({', '.join(f'{k}×{v}' for k, v in sorted(self.claimed.items()))})",
        )
        self.row("  of them overlapping another replica's", nudges.overlapping(found), zero=True)
        ran = sum(passes_by(r.metrics, "ran") for r in self.replicas)
        elsewhere = sum(passes_by(r.metrics, "elsewhere") for r in self.replicas)
        self.row(
            "scheduled passes run / skipped (pass lock held elsewhere)",
            f"{ran:.0f} / {elsewhere:.0f}",
        )
        t0 = self.t0
        for p in found:
            self.notes.append(
                f"nudge pass of {names.get(p.pid, p.pid)}: {len(p.owners)} claimed, DMs at "
                f"{p.first - t0:+.1f} … {p.last - t0:+.1f} s (from the burst's start)"
            )

    def row(
        self, metric: str, value: object, ok: bool | None = None, *, zero: bool = False
    ) -> None:
        if zero:
            ok = value == 0
        self.rows[metric] = (str(value), ok)

    def figures(self, reqs: list[Req], wall: float) -> None:
        kinds = Counter(r.kind for r in reqs)
        self.row(
            "requests (mention / align / click)",
            "{} ({} / {} / {})".format(len(reqs), kinds["mention"], kinds["align"], kinds["click"]),
        )
        late = sum(a[1] > 0 for a in self.slack.attempts)
        self.row(
            "  Slack retries sent (after a 200 / a failed ack)",
            "{} ({} / {})".format(
                late,
                sum(r.kind == "mention" and i % LATE_EVERY == 0 for i, r in enumerate(reqs)),
                self.slack.sent["refused"],
            ),
        )
        acked = [r for r in reqs if r.acked]
        for i, r in enumerate(reqs):
            if len(r.replies) > 1:
                self.notes.append(f"duplicated: request {i} ({r.kind}, {self.describe(r)}): ")
                for c in r.replies:
                    text = " ".join(str(c.params.get("text", "")).split())[:70]
                    self.notes.append(f"    reply at {c.at - self.t0:+.1f} s: {text!r}")
        for i, r in enumerate(reqs):
            if not r.acked:
                self.notes.append(
                    f"not acked: request {i} ({r.kind}), sent at {r.t0 - self.t0:+.1f} s, "
                    f"answer {r.status if r.status > 0 else 'none (refused, reset or > 3 s)'}"
                )
        self.row("acked (a 200 on some attempt)", f"{len(acked)} / {len(reqs)}")
        fast = sum(r.first_ok and r.first_s <= SLACK_TIMEOUT for r in reqs)
        self.row("  first attempt acked within 3 s", f"{fast} / {len(reqs)}")
        self.row("replies (requests with ≥ 1)", sum(bool(r.replies) for r in reqs))
        self.row("duplicated (> 1 reply)", sum(len(r.replies) > 1 for r in reqs), zero=True)
        self.row("lost (acked, no reply in 90 s)", sum(not r.replies for r in acked), zero=True)
        self.row("  replies to unacked requests", sum(bool(r.replies) for r in reqs if not r.acked))
        apologies = sum(APOLOGY in str(c.params.get("text")) for r in reqs for c in r.replies)
        self.row("  replies that are apologies", apologies)
        delays = sorted(r.replies[0].at - r.t0 for r in reqs if r.replies)
        if delays:
            p50, p95 = delays[len(delays) // 2], delays[int(len(delays) * 0.95)]
            self.row("  first reply s, p50 / p95", f"{p50:.2f} / {p95:.2f}")
        cpu = sum(r.cpu1 - r.cpu0 for r in self.replicas)
        self.row(
            "replicas' CPU s (all) / per request ms", f"{cpu:.1f} / {cpu / len(reqs) * 1e3:.0f}"
        )
        self.row("  Chroma server's CPU s", f"{self.chroma_cpu:.1f}")
        self.row("  wall s (burst + replies)", f"{wall:.1f}")
        dropped = sum(counter_total(r.metrics, "fwbot_duplicate_events") for r in self.replicas)
        self.row("  duplicates dropped (fwbot_duplicate_events)", f"{dropped:.0f}")

    def lines(self, wall: float) -> list[str]:
        out = []
        for r in self.replicas:
            conns = self.proxy.connections[("127.0.0.1", r.port)]
            cpu = r.cpu1 - r.cpu0
            out.append(
                f"  {self.label} {r.label:<4} pid {r.proc.pid:<7} connections {conns:>4}  "
                f"CPU {cpu:5.1f} s ({self.alive_share(r, wall) * 100:3.0f} % of a core)  requests "
                f"{counter_total(r.metrics, 'fwbot_slack_requests'):>4.0f}  duplicates dropped "
                f"{counter_total(r.metrics, 'fwbot_duplicate_events'):>3.0f}  nudge passes "
                f"claiming {self.claimed.get(r.label, 0)}, run {passes_by(r.metrics, 'ran'):.0f}, "
                f"skipped {passes_by(r.metrics, 'elsewhere'):.0f}"
            )
        return out


def passes_by(metrics: str, outcome: str) -> float:
    """``fwbot_progress_passes_total{outcome=…}`` in a replica's /metrics (0 if absent)."""
    found = re.search(
        rf'^fwbot_progress_passes_total\{{outcome="{outcome}"\}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


ZERO = ("duplicated", "lost", "  of them", "  owners with")


def table(base: Figures, many: Figures, n: int) -> None:
    """metric | baseline | N replicas with faults | target | verdict (of the N replicas)."""
    head = ("metric", "baseline 1 replica", f"{n} replicas with faults", "target", "verdict")
    rows = []
    for metric in dict.fromkeys([*base.rows, *many.rows]):
        b, m = base.rows.get(metric, ("—", None)), many.rows.get(metric, ("—", None))
        verdict = "info" if m[1] is None else ("ok" if m[1] else "FAIL")
        if b[1] is False:
            verdict += " (baseline FAIL)"
        target = "= 0" if metric.startswith(ZERO) else "all" if metric.startswith("nudges") else "—"
        rows.append((metric, b[0], m[0], target, verdict))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        cells = zip(r, widths, strict=True)
        print(" | ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(cells)))
