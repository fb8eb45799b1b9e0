"""Many replicas under load and faults: N `fwbot serve` replicas behind a round-robin proxy.

    .venv/bin/python bench/bench_replicas.py [--replicas 3] [--requests 300] [--rate 8]

One private PostgreSQL (initdb / pg_ctl), one Chroma server (`chroma run`), one fake Slack per
run. The same open-loop burst (a request every 1/rate s, whether or not the last was answered)
of signed app_mention events, /align commands and "Helpful" clicks on answers is sent twice:

1. **baseline**: 1 replica behind the proxy, no fault;
2. **N replicas with faults**: one replica gets SIGKILL between a quarter and three quarters
   of the way in, just after a minute boundary (a nudge pass under way; the burst waits for
   one, up to a minute), and is started again at once; PostgreSQL is stopped (fast) two
   thirds in (or at a sixth, when the kill is near two thirds) and started 2 s later.

Events are retried as Slack does (X-Slack-Retry-Num 1..3 after a failed or slow ack, on a
compressed schedule), and every 6th one is sent again although it was acked (Slack did not
see the 200 in time). Per request: acked, acked within 3 s, replies (a chat.postMessage in the
mention's thread, a post to the command's or click's response URL), duplicated (> 1), lost
(acked, no reply). Nudges: owners due at the minute the run starts and at the next minutes;
who claimed each (send_claims), whether two passes of different replicas overlapped, and the
DMs each owner got. Prints one table (metric | baseline | N replicas | target | verdict), the
per-replica lines and the servers' distinct errors. A report: exits 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import replica_nudges as nudges
from bench_slack import Traffic, make_question
from fault_kit import (  # first: it puts the repository on sys.path
    BOT_TOKEN,
    SECRET,
    SLACK_TIMEOUT,
    PrivatePostgres,
    Servers,
    Slack,
    noteworthy,
)
from replica_report import (
    LATE_EVERY,
    Figures,
    Replica,
    Req,
    cpu_seconds,
    scrape,
    table,
)

from bot.slack.ids import ACTION_FEEDBACK_HELPFUL
from local_slack import FakeSlackAPI, SlackRequests, post
from local_slack.chroma_process import ChromaDidNotStart, chroma_cli, start_chroma, stop_chroma
from local_slack.round_robin import RoundRobinProxy
from local_slack.serve_process import stop_serve

REPLY_WAIT, SETTLE = 90.0, 3.0  # s: the wait for every reply after the burst, then for late ones
KINDS = ["mention"] * 5 + ["align"] * 3 + ["click"] * 2  # the mix, shuffled with a fixed seed
ASKERS = 5  # answers clicked on: one per asker, asked before the burst
RATE = 8.0  # requests a second: what one replica keeps up with here (see bench/README.md)
KILL_AFTER_BOUNDARY = 0.3  # s: the replicas' passes have started, their DMs not all sent


class Run(Figures):
    """One run: its fake Slack, replicas, proxy, requests and what came back."""

    def __init__(self, label: str, n: int, args: argparse.Namespace, env: dict, tmp: Path):
        self.label, self.n, self.args, self.tmp = label, n, args, tmp
        self.fake = FakeSlackAPI(tokens=(BOT_TOKEN,)).start()
        self.pg: PrivatePostgres = env["pg"]
        self.url = self.pg.createdb(label)
        self.servers = Servers(self.fake, env["data"], tmp, self.pg, self.url)
        self.servers.env.update(env["chroma"], FWBOT_SCHEDULER_INTERVAL="5")
        self.replicas: list[Replica] = []
        self.proxy = RoundRobinProxy([])
        self.notes: list[str] = []
        self.rows: dict[str, tuple[str, bool | None]] = {}
        self.slots: dict = {}
        self.claimed: Counter[str] = Counter()
        self.per_replica: list[str] = []
        self.t0 = time.monotonic()
        self.chroma_pid, self.chroma_cpu = env["chroma_pid"], 0.0

    def start(self, label: str) -> Replica:
        proc, url = self.servers.start(self.tmp / f"{label}.log")
        port = int(url.split(":")[2].split("/")[0])
        replica = Replica(label, proc, port)
        self.replicas.append(replica)
        return replica

    def backends(self) -> None:
        live = [r for r in self.replicas if r.proc.poll() is None]
        self.proxy.set_backends([("127.0.0.1", r.port) for r in live])

    def up(self) -> None:
        self.slots = nudges.seed(self.url, self.fake, nudges.now_utc())
        threads = [threading.Thread(target=self.start, args=(f"r{i + 1}",)) for i in range(self.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if len(self.replicas) < self.n:
            raise RuntimeError(f"{self.n - len(self.replicas)} replica(s) did not start")
        self.replicas.sort(key=lambda r: r.label)
        self.proxy.start()
        self.backends()
        self.events = f"http://127.0.0.1:{self.proxy.port}/slack/events"
        self.slack = Slack(self.events)
        self.build = SlackRequests(SECRET)
        self.traffic = Traffic(self.fake, self.build, self.events, self.args.seed)

    # ---- requests --------------------------------------------------------------------------

    def mention(self, rng: random.Random, i: int, user: str) -> Req:
        channel, ts = f"CREP{i % 5}", f"{time.time():.6f}"
        event = self.build.app_mention_event(
            f"<@UBOT> {make_question(rng)}", user=user, channel=channel, ts=ts
        )
        self.fake.add_message(channel, event["text"], user=user, ts=ts)
        return Req("mention", (channel, ts), (event, f"Ev{secrets.token_hex(5).upper()}"))

    def align(self) -> Req:
        sent, sign = self.traffic.build("align")  # signed when sent
        return Req("align", sent.key, sign)

    def answers(self) -> list[tuple[str, str, str, str]]:
        """Answers to click on: (asker, channel, answer ts, exchange id), one per asker."""
        rng = random.Random(99)
        asked = [self.mention(rng, i, f"UASK{i}") for i in range(ASKERS)]
        warm = [self.align() for _ in range(2)]
        for req in [*asked, *warm]:  # these also warm the model, the index and the database
            self.deliver(req)
        self.collect([*asked, *warm], time.monotonic() + 60)
        out = []
        for i, req in enumerate(asked):
            for call in req.replies[:1]:
                value = next(
                    (
                        el.get("value")
                        for b in call.params.get("blocks") or []
                        for el in b.get("elements") or []
                        if isinstance(el, dict) and el.get("action_id") == ACTION_FEEDBACK_HELPFUL
                    ),
                    None,
                )
                if value:
                    out.append((f"UASK{i}", req.key[0], str(call.response.get("ts")), value))
        return out

    def plan(self, count: int) -> list[Req]:
        answers = self.answers()
        if not answers:
            self.notes.append("no answer had a Helpful button: no clicks sent (mentions instead)")
        kinds = (KINDS * (count // len(KINDS) + 1))[:count]
        random.Random(self.args.seed).shuffle(kinds)
        rng = random.Random(self.args.seed)
        out: list[Req] = []
        for i, kind in enumerate(kinds):
            if kind == "click" and answers:
                user, channel, ts, value = answers[i % len(answers)]
                url = self.fake.response_url()
                payload = self.build.block_actions_payload(
                    ACTION_FEEDBACK_HELPFUL,
                    value,
                    user=user,
                    channel=channel,
                    response_url=url,
                    message={"type": "message", "user": "UBOT", "ts": ts, "text": ""},
                )
                out.append(
                    Req("click", ("token", url.rsplit("/", 1)[-1]), self.build.interaction(payload))
                )
            elif kind == "align":
                out.append(self.align())
            else:
                out.append(self.mention(rng, i, f"U{i % 7 + 1}"))
        return out

    def deliver(self, req: Req, late: bool = False) -> None:
        req.t0 = time.monotonic()
        if req.kind == "mention":
            event, event_id = req.send
            req.status = self.slack.deliver(event, event_id, late=late)
            first = next(a for a in self.slack.attempts if a[0] == event_id and a[1] == 0)
            req.first_s, req.first_ok = first[3], first[2] == 200
            return
        signed = req.send() if callable(req.send) else req.send  # commands: signed when sent
        try:
            req.status = post(self.events, signed, timeout=SLACK_TIMEOUT)[0]
        except OSError:  # Slack shows the user an error; it does not retry these
            req.status = -1
        req.first_s, req.first_ok = time.monotonic() - req.t0, req.status == 200

    def collect(self, reqs: list[Req], deadline: float) -> None:
        """Fills each request's replies from the fake's log, until all have one or
        ``deadline``; then waits SETTLE s more for late duplicates."""
        by_key = {r.key: r for r in reqs}

        def fill() -> None:
            for r in reqs:
                r.replies = []
            for call in self.fake.calls():
                if call.method == "response_url":
                    key = ("token", str(call.params.get("_token", "")))
                elif call.method == "chat.postMessage" and call.ok:
                    key = (str(call.params.get("channel")), str(call.params.get("thread_ts")))
                else:
                    continue
                if key in by_key:
                    by_key[key].replies.append(call)

        while True:
            fill()
            if all(r.replies for r in reqs if r.acked) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(SETTLE)
        fill()

    # ---- the burst and the faults ------------------------------------------------------------

    def burst(self, reqs: list[Req], faults: bool) -> float:
        interval = 1.0 / self.args.rate
        length = len(reqs) * interval
        kill_at = self.align_kill(length) if faults else 0.0
        for r in self.replicas:
            r.cpu0 = cpu_seconds(r.proc.pid)
        chroma0 = cpu_seconds(self.chroma_pid)
        fault = threading.Thread(target=self.faults, args=(length, kill_at), daemon=True)
        t0 = self.t0 = time.monotonic()
        if faults:
            fault.start()
        threads = []
        for i, req in enumerate(reqs):
            time.sleep(max(0.0, t0 + i * interval - time.monotonic()))
            late = req.kind == "mention" and i % LATE_EVERY == 0
            t = threading.Thread(target=self.deliver, args=(req, late), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        if faults:
            fault.join()
        self.collect(reqs, time.monotonic() + REPLY_WAIT)
        for r in self.replicas:
            if r.proc.poll() is None:
                r.cpu1, r.metrics = cpu_seconds(r.proc.pid), scrape(r)
        self.chroma_cpu = cpu_seconds(self.chroma_pid) - chroma0
        return time.monotonic() - t0

    def align_kill(self, length: float) -> float:
        """When to kill (s into the burst): just after a minute boundary, when every replica
        starts a nudge pass and owners fall due, between a quarter and three quarters of the
        burst; the burst waits for such a boundary (up to a minute)."""
        lo, hi = length / 4, length * 3 / 4
        to_boundary = 60.0 - time.time() % 60.0
        wait = 0.0 if lo <= to_boundary <= hi else (to_boundary - (lo + hi) / 2) % 60.0
        if wait:
            self.notes.append(f"the burst waited {wait:.0f} s: a minute boundary at the kill")
            time.sleep(wait)
        return (to_boundary - wait) % 60.0 + KILL_AFTER_BOUNDARY

    def faults(self, length: float, kill_at: float) -> None:
        """SIGKILL r2 at ``kill_at`` s and start it again; PostgreSQL down for 2 s at two
        thirds of the burst, or at a sixth when the kill is near two thirds."""
        pg_at = length * 2 / 3 if kill_at <= length * 2 / 3 - 5 else length / 6
        jobs = [threading.Thread(target=self.kill, args=(kill_at,), daemon=True)]
        jobs.append(threading.Thread(target=self.restart_postgres, args=(pg_at,), daemon=True))
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()

    def kill(self, at: float) -> None:
        try:
            time.sleep(max(0.0, self.t0 + at - time.monotonic()))
            victim = self.replicas[min(1, len(self.replicas) - 1)]
            victim.cpu1 = cpu_seconds(victim.proc.pid)
            victim.metrics = scrape(victim)
            victim.proc.kill()
            victim.proc.wait()
            killed = victim.stopped = time.monotonic()
            self.backends()
            again = self.start(victim.label + "'")
            again.cpu0 = cpu_seconds(again.proc.pid)
            self.backends()
            self.notes.append(
                f"SIGKILL {victim.label} at {killed - self.t0:.1f} s; {again.label} listened "
                f"{time.monotonic() - killed:.1f} s later"
            )
        except Exception as exc:  # the report says which fault could not be made
            traceback.print_exc()
            self.notes.append(f"the kill failed: {type(exc).__name__}: {exc}")

    def restart_postgres(self, at: float) -> None:
        try:
            time.sleep(max(0.0, self.t0 + at - time.monotonic()))
            stopped = time.monotonic()
            self.pg.stop("fast")
            time.sleep(2.0)
            self.pg.start()
            self.notes.append(
                f"PostgreSQL stopped at {stopped - self.t0:.1f} s, back "
                f"{time.monotonic() - stopped:.1f} s later"
            )
        except Exception as exc:
            traceback.print_exc()
            self.notes.append(f"the PostgreSQL restart failed: {type(exc).__name__}: {exc}")

    def down(self) -> str:
        """Stops everything; the replicas' logs, one after the other."""
        for r in self.replicas:
            if not r.metrics and r.proc.poll() is None:
                r.metrics = scrape(r)
        self.proxy.stop()
        for r in self.replicas:
            stop_serve(r.proc)
        self.fake.stop()
        logs = {r.label: self.tmp / f"{r.label}.log" for r in self.replicas}
        text = {
            k: p.read_text(encoding="utf-8", errors="replace")
            for k, p in logs.items()
            if p.exists()
        }
        for label, log in text.items():
            for m in re.finditer(r"(\d+) acknowledged request\(s\) left undone", log):
                self.notes.append(f"{label} took over {m.group(1)} acked request(s) of a dead one")
        return "\n".join(text.values())

    # ---- the figures --------------------------------------------------------------------------


def execute(label: str, n: int, faults: bool, args: argparse.Namespace, env: dict, tmp: Path):
    """One run: up, the burst (with the faults), the figures, down. (run, its log)."""
    (tmp / label).mkdir()
    run = Run(label, n, args, env, tmp / label)
    try:
        run.up()
        reqs = run.plan(args.requests)
        wall = run.burst(reqs, faults)
        run.figures(reqs, wall)
        run.nudged()
        run.per_replica = run.lines(wall)
    except Exception as exc:  # a report: the row says what broke
        traceback.print_exc()
        run.notes.append(f"error: {type(exc).__name__}: {exc}"[:200])
    finally:
        log = run.down()
    return run, log


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=3, help="replicas in the fault run")
    ap.add_argument("--requests", type=int, default=300, help="requests per burst")
    ap.add_argument("--rate", type=float, default=RATE, help="requests a second (open loop)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep-logs", type=Path, help="copy the replicas' logs into this directory")
    args = ap.parse_args()
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {load0:.2f}; {args.requests} "
        f"requests at {args.rate:g}/s (open loop), {args.replicas} replicas"
    )
    pg, cli = PrivatePostgres(), chroma_cli()
    if pg.unavailable or cli is None:
        print(f"bench: not run: {pg.unavailable or 'no chroma CLI (chromadb package)'}")
        return
    with tempfile.TemporaryDirectory(prefix="fwbot-bench-replicas-") as tmp_name:
        tmp = Path(tmp_name)
        chroma = None
        try:
            pg.init()
            chroma, server = start_chroma(cli, tmp / "chroma", tmp / "chroma.log")
            env = {"pg": pg, "data": tmp / "data", "chroma": server.env, "chroma_pid": chroma.pid}
            print("… baseline: 1 replica, no fault", file=sys.stderr, flush=True)
            base, base_log = execute("baseline", 1, False, args, env, tmp)
            print(f"… {args.replicas} replicas with faults", file=sys.stderr, flush=True)
            many, many_log = execute("replicas", args.replicas, True, args, env, tmp)
        except (RuntimeError, OSError, ChromaDidNotStart) as exc:
            traceback.print_exc()
            print(f"bench: could not run: {type(exc).__name__}: {exc}")
            return
        finally:
            if chroma is not None:
                stop_chroma(chroma)
            pg.remove()
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*/*.log"):
                    shutil.copy(log, args.keep_logs / f"{log.parent.name}-{log.name}")
    table(base, many, args.replicas)
    print("per replica (CPU during the burst and the wait for replies; proxy connections):")
    print("\n".join([*base.per_replica, *many.per_replica]))
    for run, log in ((base, base_log), (many, many_log)):
        for note in run.notes:
            print(f"{run.label}: {note}")
        if notes := noteworthy(log):
            print(f"server logs, {run.label}: errors, tracebacks, warnings (numbers as N):")
            print("\n".join(f"  {x}" for x in notes))
    print(
        f"elapsed {time.perf_counter() - started:.0f} s; load average {load0:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end (replicas, PostgreSQL, Chroma, the fake and the "
        "clients share the CPU)"
    )


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test: say what broke, exit 0
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
