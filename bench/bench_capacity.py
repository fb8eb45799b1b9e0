"""Capacity of `fwbot serve`: open-loop arrivals at stated rates, one replica and N behind a
round-robin balancer on one PostgreSQL, against a fake Slack.

    .venv/bin/python bench/bench_capacity.py [--rates 5,10,15,20,30,40,50] [--step 8]
        [--replicas 1,2] [--arrivals poisson] [--database postgresql://postgres@127.0.0.1/test]

For each replica count it starts the servers (a schema of their own in --database, each its
own data dir), warms them, then offers each rate for --step seconds: requests are sent at
their scheduled times (Poisson arrivals by default, or evenly spaced) whatever the replies do,
half `/align <proposal>` and half `app_mention` questions, as bench_slack.py sends them. Per
step: offered and achieved rates, ack p95, reply p50/p95 (from the scheduled send time, so a
late sender counts against the server), the fwbot processes' CPU per request, and the server's
`fwbot_work_seconds` per kind. The ramp stops at the first step past the knee. Baseline from
the same run: the knowledge core's own ask / align on the same kind of texts, in-process.
A report, not a test: the exit code is always 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_slack import (  # noqa: E402
    BOT_TOKEN,
    SECRET,
    Sent,
    Traffic,
    http_get,
    make_proposal,
    make_question,
    work_seconds,
)

from local_slack import FakeSlackAPI, SlackRequests  # noqa: E402
from local_slack.round_robin import RoundRobinProxy  # noqa: E402
from local_slack.serve_process import admin_port, start_serve, stop_serve  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 300  # s: the first start builds the search index
P95_BOUND = 2.0  # s: reply p95 at or under it ...
KEEP_UP = 0.95  # ... and replies completed at >= 95 % of the offered rate: under the knee
DRAIN = 20.0  # s after a step's last send for its replies; later ones count as lost
WARMUP_EACH = 10  # of each kind per replica: first calls pay for lazy loading
CORE_SAMPLES = 40  # of each kind, for the in-process baseline
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def schema_url(base: str, schema: str, app_name: str) -> str:
    separator = "&" if "?" in base else "?"
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{base}{separator}options={options}&application_name={app_name}"


_admin_db: list = []


def pg_cpu_by_backend(app_name: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``app_name`` (on this machine)."""
    from sqlalchemy import text

    if not _admin_db:
        return {}
    with _admin_db[0].connect() as c:
        pids = c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": app_name}
        ).scalars()
        out = {}
        for pid in pids:
            with contextlib.suppress(OSError):  # gone, or another machine's
                out[pid] = cpu_seconds(pid)
    return out


def pct(xs: list[float], q: float) -> float:
    ys = [x for x in xs if x == x]
    return float(np.percentile(ys, q)) if ys else float("nan")


@dataclass
class Step:
    replicas: int
    rate: float
    sent: list[Sent] = field(default_factory=list)
    offered: float = 0.0  # realised: (n - 1) / (last send - first send)
    achieved: float = 0.0  # the same, counting only replies in by P95_BOUND after the last send
    late_sends: int = 0  # sends more than 50 ms behind schedule (the generator fell behind)
    fwbot_cpu: float = 0.0  # s, all replicas
    pg_cpu: float = 0.0  # s, the replicas' PostgreSQL backends
    drift: float = 0.0  # s: reply p50 of the last quarter of arrivals minus the first's
    bench_cpu: float = 0.0  # s, this process: the fake Slack, the generator, the balancer
    wall: float = 0.0
    work: dict[str, float] = field(default_factory=dict)  # kind -> mean ms

    @property
    def replies(self) -> list[float]:
        return [s.reply_s for s in self.sent if s.status == 200]

    @property
    def lost(self) -> int:
        return sum(s.status != 200 or s.reply_s != s.reply_s for s in self.sent)

    @property
    def under_knee(self) -> bool:
        return (
            self.lost == 0
            and pct(self.replies, 95) <= P95_BOUND
            and self.achieved >= KEEP_UP * self.offered
        )


def schedule(rate: float, seconds: float, arrivals: str, rng: random.Random) -> list[float]:
    """Send offsets (s) for ``rate`` per second over ``seconds``."""
    if arrivals == "even":
        return [i / rate for i in range(int(rate * seconds))]
    out, t = [], rng.expovariate(rate)
    while t < seconds:
        out.append(t)
        t += rng.expovariate(rate)
    return out


def run_step(
    traffic: Traffic, admins: list[str], pids: list[int], step: Step, seconds: float, args
) -> None:
    rng = random.Random(args.seed + int(step.rate * 100) + step.replicas)
    offsets = schedule(step.rate, seconds, args.arrivals, rng)
    kinds = ["align", "mention"] * (len(offsets) // 2 + 1)
    rng.shuffle(kinds)
    planned = [traffic.build(k) for k in kinds[: len(offsets)]]
    before = [work_seconds(http_get(f"{a}/metrics")[1].decode()) for a in admins]
    cpu0, bench0 = sum(cpu_seconds(p) for p in pids), sum(os.times()[:2])
    pg0 = pg_cpu_by_backend(args.app_name)

    def fire(item: tuple[float, tuple]) -> Sent:
        due, (sent, sign) = item
        traffic.send(sent, sign)
        sent.ack_s += sent.t0 - due  # from the scheduled time: a late send is the server's
        sent.t0 = due
        return sent

    start = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=args.senders) as pool:
        futures = []
        for off, item in zip(offsets, planned, strict=True):
            due = start + off
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            elif -wait > 0.05:
                step.late_sends += 1
            futures.append(pool.submit(fire, (due, item)))
        step.sent = [f.result() for f in futures]
    traffic.collect(step.sent, time.monotonic() + DRAIN)
    step.wall = time.monotonic() - start
    step.fwbot_cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    step.bench_cpu = sum(os.times()[:2]) - bench0
    # backends that started during the step count from 0; one that ended is missed
    step.pg_cpu = sum(v - pg0.get(pid, 0.0) for pid, v in pg_cpu_by_backend(args.app_name).items())
    sends = sorted(s.t0 for s in step.sent)
    span = max(sends[-1] - sends[0], 1e-9) if len(sends) > 1 else float("inf")
    by = sends[-1] + P95_BOUND if sends else 0.0  # replies in by then count as keeping up
    done = [s for s in step.sent if s.reply_s == s.reply_s and s.t0 + s.reply_s <= by]
    step.offered, step.achieved = (len(sends) - 1) / span, (len(done) - 1) / span
    quarter = max(1, len(step.sent) // 4)  # the queue's drift: late arrivals vs early ones
    first, last = step.sent[:quarter], step.sent[-quarter:]
    step.drift = pct([s.reply_s for s in last], 50) - pct([s.reply_s for s in first], 50)
    after = [work_seconds(http_get(f"{a}/metrics")[1].decode()) for a in admins]
    pairs = list(zip(after, before, strict=True))
    for kind in ("answer", "align"):
        total = sum(a.get(kind, (0, 0))[0] - b.get(kind, (0, 0))[0] for a, b in pairs)
        calls = sum(a.get(kind, (0, 0))[1] - b.get(kind, (0, 0))[1] for a, b in pairs)
        step.work[kind] = total / calls * 1e3 if calls else float("nan")


def core_baseline(seed: int) -> dict[str, float]:
    """Mean ms of the knowledge core's ask / align in this process, one model thread (as
    under `fwbot serve`), on questions and proposals like the bench's."""
    from framework_data.loader import load_framework
    from retrieval.assistant import FrameworkAssistant
    from retrieval.embeddings import MiniLMEmbedder
    from retrieval.search import FrameworkSearcher

    assistant = FrameworkAssistant(FrameworkSearcher(load_framework(), MiniLMEmbedder(threads=1)))
    rng = random.Random(seed + 7)
    questions = [make_question(rng) for _ in range(CORE_SAMPLES)]
    proposals = [make_proposal(rng) for _ in range(CORE_SAMPLES)]
    assistant.ask(questions[0]), assistant.align(proposals[0])  # warm
    out = {}
    for kind, fn, items in (
        ("answer", assistant.ask, questions),
        ("align", assistant.align, proposals),
    ):
        t = time.perf_counter()
        for x in items:
            fn(x)
        out[kind] = (time.perf_counter() - t) / len(items) * 1e3
    return out


def run_config(n: int, args, fake: FakeSlackAPI, tmp: Path, base_env: dict) -> list[Step]:
    from sqlalchemy import create_engine, text

    schema = f"fwbot_capacity_{uuid.uuid4().hex[:8]}"
    admin_db = create_engine(args.database.replace("postgresql://", "postgresql+psycopg://", 1))
    _admin_db[:] = [admin_db]
    with admin_db.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    procs, steps = [], []
    logs = []
    try:
        for i in range(n):
            data = tmp / f"data{i}"
            if not data.exists() and (tmp / "data0").exists():
                shutil.copytree(tmp / "data0", data)  # the index built once, not per replica
            env = dict(base_env, FWBOT_DATA_DIR=str(data))
            env["DATABASE_URL"] = schema_url(args.database, schema, args.app_name)
            log = (tmp / f"server{n}-{i}.log").open("w", encoding="utf-8")
            logs.append(log)
            procs.append(start_serve(env, log, timeout=START_TIMEOUT))
        admins = [f"http://127.0.0.1:{admin_port(p)}" for p, _ in procs]
        with RoundRobinProxy([("127.0.0.1", port) for _, port in procs]) as proxy:
            url = f"http://127.0.0.1:{proxy.port}/slack/events"
            traffic = Traffic(fake, SlackRequests(SECRET), url, args.seed + n)
            # round robin: this order gives every replica both kinds, whatever n is
            kinds = ["align", "mention", "mention", "align"] * (WARMUP_EACH // 2) * n
            warm = [traffic.send(*traffic.build(k)) for k in kinds]
            traffic.collect(warm, time.monotonic() + 60)
            for rate in args.rates:
                step = Step(n, rate)
                run_step(traffic, admins, [p.pid for p, _ in procs], step, args.step, args)
                steps.append(step)
                print_row(step, flush=True)
                if not step.under_knee:
                    break
    finally:
        for p, _ in procs:
            stop_serve(p)
        for log in logs:
            log.close()
        with admin_db.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        _admin_db.clear()
        admin_db.dispose()
    return steps


HEAD = (
    "replicas",
    "offered/s",
    "achieved/s",
    "ack p95 ms",
    "reply p50 ms",
    "reply p95 ms",
    "lost",
    "late sends",
    "drift ms",
    "fwbot CPU ms/req",
    "PG CPU ms/req",
    "fwbot cores busy",
    "bench cores busy",
    "work ms answer",
    "work ms align",
    "under knee",
)
WIDTHS = [max(len(h), 6) for h in HEAD]


def print_row(step: Step, flush: bool = False) -> None:
    n = max(len(step.sent), 1)
    cells = (
        str(step.replicas),
        f"{step.offered:.1f} ({step.rate:g})",
        f"{step.achieved:.1f}",
        f"{pct([s.ack_s for s in step.sent if s.status == 200], 95) * 1e3:.0f}",
        f"{pct(step.replies, 50) * 1e3:.0f}",
        f"{pct(step.replies, 95) * 1e3:.0f}",
        str(step.lost),
        str(step.late_sends),
        f"{step.drift * 1e3:+.0f}",
        f"{step.fwbot_cpu / n * 1e3:.1f}",
        f"{step.pg_cpu / n * 1e3:.1f}",
        f"{step.fwbot_cpu / step.wall:.2f}",
        f"{step.bench_cpu / step.wall:.2f}",
        f"{step.work['answer']:.1f}",
        f"{step.work['align']:.1f}",
        "yes" if step.under_knee else "NO",
    )
    print(" | ".join(c.rjust(w) for c, w in zip(cells, WIDTHS, strict=True)), flush=flush)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="5,10,15,20,25,30,35,40,50,60", help="requests/s, ramped")
    ap.add_argument("--step", type=float, default=8.0, help="seconds of arrivals per rate")
    ap.add_argument("--replicas", default="1,2", help="replica counts to measure")
    ap.add_argument("--arrivals", choices=("poisson", "even"), default="poisson")
    ap.add_argument("--database", default=POSTGRES_URL, help="PostgreSQL (a schema is made)")
    ap.add_argument("--senders", type=int, default=64, help="sender threads (never the limit)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    # the balancer's loop stops with connections of the last step's idle keep-alives open
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    args.rates = [float(r) for r in args.rates.split(",")]
    args.app_name = f"fwbot_capacity_{os.getpid()}"
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {load0:.2f}; {args.arrivals} "
        f"arrivals, {args.step:g} s per rate, half /align (30-80 words) and half app_mention "
        f"questions; knee: reply p95 <= {P95_BOUND:g} s, achieved >= {KEEP_UP:.0%} of offered, "
        "nothing lost"
    )
    core = core_baseline(args.seed)
    tmp_dir = tempfile.TemporaryDirectory(prefix="fwbot-bench-capacity-")
    tmp = Path(tmp_dir.name)
    fake = FakeSlackAPI(tokens=(BOT_TOKEN,)).start()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FWBOT_FRAMEWORK", "CHROMA_HOST", "CHROMA_PORT", "SLACK_APP_TOKEN")
    }
    env.update(
        ANONYMIZED_TELEMETRY="False",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.base_url,
        PYTHONIOENCODING="utf-8",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(" | ".join(h.rjust(w) for h, w in zip(HEAD, WIDTHS, strict=True)))
    print("-|-".join("-" * w for w in WIDTHS))
    results: dict[int, list[Step]] = {}
    try:
        for n in (int(x) for x in args.replicas.split(",")):
            results[n] = run_config(n, args, fake, tmp, env)
    finally:
        fake.stop()
        tmp_dir.cleanup()
    core_end = core_baseline(args.seed + 1)  # again: the machine's load may have changed
    summarise(results, {k: (core[k], core_end[k]) for k in core})
    print(
        f"elapsed {time.perf_counter() - started:.0f} s; load average {load0:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end (servers, fake Slack and generator share the CPU)"
    )


def summarise(results: dict[int, list[Step]], core: dict[str, tuple[float, float]]) -> None:
    print()
    cores = os.cpu_count() or 1
    for n, steps in results.items():
        good = [s for s in steps if s.under_knee]
        if not good:
            print(f"{n} replica(s): no rate was under the knee")
            continue
        knee = max(good, key=lambda s: s.rate)
        sent = sum(len(s.sent) for s in good)
        fwbot = sum(s.fwbot_cpu for s in good) / sent
        pg = sum(s.pg_cpu for s in good) / sent
        print(
            f"{n} replica(s): knee {knee.rate:g} req/s offered ({knee.offered:.1f} realised) "
            f"= {knee.rate / cores:.1f} req/s per core of this {cores}-core machine (servers, "
            f"PostgreSQL, fake Slack and generator on it); CPU per request under the knee: "
            f"fwbot {fwbot * 1e3:.1f} ms + PostgreSQL {pg * 1e3:.1f} ms -> "
            f"{1 / fwbot:.0f} req/s per core given to fwbot alone (the portable figure)"
            + ("; the ramp ended before the knee" if knee is steps[-1] else "")
        )
    first = next((s[0] for s in results.values() if s), None)
    print(
        "server work vs the core, mean ms (server: fwbot_work_seconds at the lowest rate, one "
        "replica; core: FrameworkAssistant.ask / align in-process, one model thread):"
    )
    for kind in ("answer", "align"):
        server = first.work[kind] if first else float("nan")
        start, end = core[kind]
        print(
            f"  {kind:6}: server {server:.1f}; core {start:.1f} before the servers, {end:.1f} "
            f"after; overhead {server - min(start, end):+.1f} (against the lower)"
        )


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test: say what broke, exit 0
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
