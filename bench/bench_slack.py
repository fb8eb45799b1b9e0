"""Benchmark of the Slack HTTP front: `fwbot serve` in a subprocess against a fake Slack.

    .venv/bin/python bench/bench_slack.py [--requests 200] [--concurrency 20]

Starts a FakeSlackAPI and the real server (its own temporary data dir and SQLite database),
warms it up, then fires signed requests, half `/align <proposal>` and half `app_mention`
events, C at a time. Per request it measures the ack (send -> HTTP response) and the reply
(send -> the fake recorded the reply). Baselines from the same run: GET /healthz at the same
concurrency on the same server (the HTTP floor) and a direct WebClient chat.postMessage to the
fake (its own round trip). Prints one table: metric | p50 | p95 | p99 | target | verdict.
A report, not a test: the exit code is always 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_slack import FakeSlackAPI, SignedRequest, SlackRequests, post, web_api  # noqa: E402
from local_slack.serve_process import admin_port, start_serve, stop_serve  # noqa: E402

# The fake's ThreadingHTTPServer listens with socketserver's default backlog of 5: with more
# connections arriving at once, the kernel drops SYNs and the client retries after 1 s, which
# would put the fake's own queue into fwbot's reply latency. Slack's servers have no such limit.
web_api._Server.request_queue_size = max(web_api._Server.request_queue_size, 1024)

SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 300  # s: a fresh data dir builds the search index first
REPLY_GRACE = 60  # s after the last ack before a missing reply counts as lost
WARMUP_EACH = 3  # untimed /align and mentions before anything is measured
ACK_P99_TARGET, REPLY_P95_TARGET, SLACK_ACK_LIMIT = 100.0, 300.0, 3000.0  # ms

# ---- varied inputs: proposals and questions assembled from phrases ---------------------------

OPENERS = [
    "We will",
    "Our unit proposes to",
    "The project will",
    "This initiative aims to",
    "Over the next {m} months we plan to",
    "The regional bureau wants to",
    "With two partner agencies we intend to",
    "As a pilot, the secretariat will",
]
ACTIVITIES = [
    "run regional workshops on open-source intelligence",
    "train forensic specialists in handling digital evidence",
    "connect remote border posts to the secure I-24/7 network",
    "build a shared platform to exchange best practices on cybercrime",
    "set up an innovation lab that prototypes predictive analysis tools",
    "harmonise procedures for handling biometric data",
    "strengthen due diligence checks on private sector partners",
    "mentor young female officers who join specialised units",
    "produce quarterly threat assessments on cyber-enabled financial crime",
    "audit how personal data is processed in national databases",
    "coordinate joint operations against environmental crime networks",
    "pilot a tool for tracing illicit firearms across borders",
    "improve the quality of notices with validation checks at data entry",
    "support National Central Bureaus through an operational helpdesk",
    "develop e-learning modules on counter-terrorism investigations",
    "map human trafficking routes together with regional analysts",
    "modernise the case management system used by investigators",
    "advocate with ministries for sustained funding of police cooperation",
    "organise an exchange programme for experts in crime scene analysis",
    "study future crime trends with universities and research institutes",
]
AUDIENCES = [
    "investigators from {n} member countries",
    "analysts in regional bureaus",
    "border police officers",
    "National Central Bureau staff",
    "prosecutors and judges",
    "national cybercrime units",
    "forensic laboratories",
    "senior police managers",
    "customs and immigration officers",
]
REGIONS = [
    "West Africa",
    "South-East Asia",
    "the Western Balkans",
    "Central America",
    "the Pacific islands",
    "North Africa and the Middle East",
    "Eastern Europe",
    "the Caribbean",
    "the Andean region",
    "East Africa",
    "Central Asia",
]
DETAILS = [
    "Each session lasts {d} days and mixes short lectures with hands-on exercises.",
    "Participants receive a certificate and join an alumni network afterwards.",
    "The work builds on a needs assessment carried out with the beneficiaries in {y}.",
    "A steering committee with representatives of each beneficiary country oversees it.",
    "Trainers come from partner agencies, the private sector and academia.",
    "Results will be presented at the next regional conference of police chiefs.",
    "Lessons learned will feed into updated standard operating procedures.",
    "Data will be exchanged only through channels that meet our data protection rules.",
    "A gender adviser will make sure that at least {p} per cent of participants are women.",
    "The tools will be tested with real cases before they are rolled out more widely.",
    "Local trainers will take over after the first year so that the effort lasts.",
    "Risks are tracked in a register that the project board reviews every quarter.",
]
OUTCOMES = [
    "We expect a {p} per cent increase in messages exchanged through official channels.",
    "Success is measured by the number of joint investigations opened within a year.",
    "The main result should be faster identification of suspects and victims.",
    "We aim to cut the time needed to validate a notice by {p} per cent.",
    "By the end, every beneficiary country should have a trained focal point.",
]
FUNDING = [
    "The budget is {k} thousand euros over {m} months, from a donor grant.",
    "Funding comes from a multi-donor trust fund and covers {m} months.",
    "Costs are shared between the secretariat and {n} member countries.",
]

TOPICS = [
    "training",
    "cybercrime",
    "data protection",
    "funding",
    "data quality",
    "gender diversity",
    "innovation",
    "research and development",
    "regional offices",
    "interoperability",
    "counter-terrorism",
    "the private sector",
    "risk management",
    "the governing bodies",
    "criminal intelligence",
    "border security",
    "missing persons",
    "capacity building",
    "compliance",
    "forensics",
    "environmental crime",
    "firearms trafficking",
    "financial crime",
    "drones",
    "the I-24/7 network",
    "operational support",
    "talent and retention",
    "change management",
    "foresight and future trends",
    "partnerships with the UN",
]
QUESTION_FORMS = [
    "Which objective covers {t}?",
    "What does the framework say about {t}?",
    "Is there anything on {t} in our strategy?",
    "How do we support {t}?",
    "Where does the strategy mention {t}?",
    "Which goal deals with {t}?",
    "Does the framework help with {t} in {r}?",
    "Who should I talk to about {t} for {r}?",
    "What are we doing on {t} and {u}?",
]


def _fill(rng: random.Random, s: str) -> str:
    return s.format(
        m=rng.randint(6, 48),
        n=rng.randint(3, 40),
        d=rng.randint(2, 10),
        y=rng.randint(2015, 2025),
        p=rng.randint(10, 60),
        k=rng.randint(80, 2500),
    )


def make_proposal(rng: random.Random) -> str:
    """30-80 words: what, for whom, where, then details, an outcome and the funding."""
    target = rng.randint(30, 80)
    words = _fill(
        rng,
        f"{rng.choice(OPENERS)} {rng.choice(ACTIVITIES)} for "
        f"{rng.choice(AUDIENCES)} in {rng.choice(REGIONS)}.",
    ).split()
    if rng.random() < 0.5:
        words += f"We will also {rng.choice(ACTIVITIES)}.".split()
    rest = [*rng.sample(DETAILS, 4), rng.choice(OUTCOMES), rng.choice(FUNDING)]
    rng.shuffle(rest)
    for sentence in rest:
        if len(words) >= target:
            break
        words += _fill(rng, sentence).split()
    return " ".join(words[:80])


def make_question(rng: random.Random) -> str:
    t, u = rng.sample(TOPICS, 2)
    return rng.choice(QUESTION_FORMS).format(t=t, u=u, r=rng.choice(REGIONS))


# ---- the server -------------------------------------------------------------------------------


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def work_seconds(metrics: str) -> dict[str, tuple[float, float]]:
    """{kind: (sum seconds, count)} of fwbot_work_seconds from a /metrics scrape."""
    out: dict[str, list[float]] = {}
    for m in re.finditer(
        r'^fwbot_work_seconds_(sum|count)\{kind="([^"]+)"\} (\S+)$', metrics, re.M
    ):
        out.setdefault(m.group(2), [0.0, 0.0])["sum count".split().index(m.group(1))] = float(
            m.group(3)
        )
    return {k: (v[0], v[1]) for k, v in out.items()}


def counter_total(metrics: str, name: str) -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(rf"^{name}_total(?:\{{[^}}]*\}})? (\S+)$", metrics, re.M)
    )


# ---- one Slack request and its reply ------------------------------------------------------------


@dataclass
class Sent:
    kind: str  # "align" | "mention"
    key: tuple[str, str]  # ("token", response URL token) or (channel, mention ts)
    t0: float = 0.0
    ack_s: float = float("nan")
    status: int = 0
    body: bytes = b""
    reply_s: float = float("nan")
    reply_ok: bool = True


class Traffic:
    def __init__(self, fake: FakeSlackAPI, slack: SlackRequests, events_url: str, seed: int):
        self.fake, self.slack, self.events_url = fake, slack, events_url
        self.rng = random.Random(seed)
        self.counter = 0
        self.base = int(time.time())

    def build(self, kind: str) -> tuple[Sent, Callable[[], SignedRequest]]:
        """A request of ``kind``; the returned function signs it (at send time)."""
        self.counter += 1
        if kind == "align":
            url = self.fake.response_url()
            text = make_proposal(self.rng)
            sent = Sent(kind, ("token", url.rsplit("/", 1)[-1]))
            return sent, lambda: self.slack.slash_command(
                "/align",
                text,
                user_id=f"U{self.counter % 7 + 1}",
                channel_id=f"CBENCH{self.counter % 5}",
                response_url=url,
            )
        channel, ts = f"CBENCH{self.counter % 5}", f"{self.base}.{self.counter:06d}"
        event = self.slack.app_mention_event(
            f"<@UBOT> {make_question(self.rng)}",
            user=f"U{self.counter % 7 + 1}",
            channel=channel,
            ts=ts,
        )
        return Sent(kind, (channel, ts)), lambda: self.slack.event(event)

    def send(self, sent: Sent, sign: Callable[[], SignedRequest]) -> Sent:
        req = sign()
        sent.t0 = time.monotonic()
        try:
            sent.status, _, sent.body = post(self.events_url, req, timeout=30)
        except OSError as exc:  # refused, reset, timed out: a failed ack
            sent.status, sent.body = -1, str(exc).encode()
        sent.ack_s = time.monotonic() - sent.t0
        return sent

    def send_and_wait(self, sent: Sent, sign: Callable[[], SignedRequest]) -> Sent:
        """Send, then wait for this request's reply: a user who waits for the answer before
        asking again (``--wait-reply``)."""
        self.send(sent, sign)
        if sent.status != 200:
            return sent

        def mine(call) -> bool:
            if sent.kind == "align":
                return ("token", call.params.get("_token", "")) == sent.key
            return (call.params.get("channel", ""), call.params.get("thread_ts") or "") == sent.key

        method = "response_url" if sent.kind == "align" else "chat.postMessage"
        try:
            (call, *_) = self.fake.wait_for(method, timeout=REPLY_GRACE, where=mine)
            sent.reply_s, sent.reply_ok = call.at - sent.t0, call.ok
        except AssertionError:
            pass  # no reply: counted as lost
        return sent

    def collect(self, sent: list[Sent], deadline: float) -> None:
        """Fills reply_s from the fake's log (Call.at is time.monotonic() in this process)."""
        waiting = {s.key: s for s in sent if s.status == 200}
        while waiting:
            for call in self.fake.calls():
                if call.method == "response_url":
                    key = ("token", call.params.get("_token", ""))
                elif call.method == "chat.postMessage":
                    key = (call.params.get("channel", ""), call.params.get("thread_ts") or "")
                else:
                    continue
                s = waiting.pop(key, None)
                if s is not None:
                    s.reply_s, s.reply_ok = call.at - s.t0, call.ok
            if not waiting or time.monotonic() > deadline:
                return
            time.sleep(0.05)


def run_concurrently(fn: Callable[[int], float], n: int, concurrency: int) -> list[float]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(fn, range(n)))


# ---- the table ----------------------------------------------------------------------------------


def pcts(xs: list[float]) -> tuple[float, float, float]:
    ys = [x for x in xs if x == x]  # drop NaN (no reply)
    if not ys:
        return (float("nan"),) * 3
    p50, p95, p99 = np.percentile(ys, [50, 95, 99]) * 1e3
    return float(p50), float(p95), float(p99)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="Slack requests (half /align)")
    ap.add_argument("--concurrency", type=int, default=20, help="requests in flight at once")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", type=Path, help="keep a copy of the server's log here")
    ap.add_argument(
        "--wait-reply",
        action="store_true",
        help="each of the concurrent senders waits for its reply before the next "
        "request (users waiting for answers) instead of only for the ack",
    )
    args = ap.parse_args()
    n, c = max(2, args.requests), max(1, args.concurrency)
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, load average {load0:.2f}; "
        f"{n} requests, concurrency {c}"
        f"{', each sender waits for its reply' if args.wait_reply else ''}"
    )

    tmp = tempfile.TemporaryDirectory(prefix="fwbot-bench-slack-")
    fake = FakeSlackAPI(tokens=(BOT_TOKEN,)).start()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FWBOT_FRAMEWORK", "CHROMA_HOST", "CHROMA_PORT", "SLACK_APP_TOKEN")
    }
    env.update(
        FWBOT_DATA_DIR=str(Path(tmp.name) / "data"),
        ANONYMIZED_TELEMETRY="False",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.base_url,
        PYTHONIOENCODING="utf-8",
        DATABASE_URL=f"sqlite:///{Path(tmp.name) / 'fwbot.db'}",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    log_path = Path(tmp.name) / "server.log"
    proc = None
    try:
        with log_path.open("w", encoding="utf-8") as log:
            t = time.perf_counter()
            proc, port = start_serve(env, log, timeout=START_TIMEOUT)
        start_s = time.perf_counter() - t
        root = f"http://127.0.0.1:{port}"
        admin = f"http://127.0.0.1:{admin_port(proc)}"  # /metrics: the admin listener
        traffic = Traffic(fake, SlackRequests(SECRET), f"{root}/slack/events", args.seed)

        # ---- warm-up (not measured): the model, the index, the database, bolt's first calls --
        warm = [traffic.send(*traffic.build(kind)) for kind in ["align", "mention"] * WARMUP_EACH]
        traffic.collect(warm, time.monotonic() + REPLY_GRACE)
        if any(s.status != 200 or s.reply_s != s.reply_s for s in warm):
            print("warning: a warm-up request got no 200 ack or no reply")
        http_get(f"{root}/healthz")

        # ---- baseline 1: the HTTP floor, GET /healthz on the same server ----------------------
        def healthz(_: int) -> float:
            t0 = time.monotonic()
            status = http_get(f"{root}/healthz")[0]
            return time.monotonic() - t0 if status == 200 else float("nan")

        floor = run_concurrently(healthz, n, c)

        # ---- baseline 2: the fake's own round trip, WebClient chat.postMessage ----------------
        client = fake.client(BOT_TOKEN)

        def direct(i: int) -> float:
            t0 = time.monotonic()
            client.chat_postMessage(channel=f"CBASE{i % 5}", text=f"baseline {i}")
            return time.monotonic() - t0

        fake_rt = run_concurrently(direct, n, c)

        # ---- the measured run ----------------------------------------------------------------
        before = http_get(f"{admin}/metrics")[1].decode()
        kinds = ["align", "mention"] * (n // 2) + ["align"] * (n % 2)
        random.Random(args.seed).shuffle(kinds)
        planned = [traffic.build(kind) for kind in kinds]
        probe: list[float] = []  # GET /healthz every 25 ms while the run is in flight
        running = threading.Event()
        running.set()

        def probing() -> None:
            while running.is_set():
                probe.append(healthz(0))
                time.sleep(0.025)

        prober = threading.Thread(target=probing, daemon=True)
        t = time.perf_counter()
        prober.start()
        with ThreadPoolExecutor(max_workers=c) as pool:
            send = traffic.send_and_wait if args.wait_reply else traffic.send
            sent = list(pool.map(lambda p: send(*p), planned))
        traffic.collect(sent, time.monotonic() + REPLY_GRACE)
        wall = time.perf_counter() - t
        running.clear()
        prober.join()
        after = http_get(f"{admin}/metrics")[1].decode()
    finally:
        rc = stop_serve(proc) if proc is not None else None
        fake.stop()
        server_log = (
            log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        )
        if args.log:
            args.log.write_text(server_log, encoding="utf-8")
        tmp.cleanup()

    # ---- the table ----------------------------------------------------------------------------
    rows: list[tuple[str, ...]] = []

    def row(metric: str, xs: list[float], target: float | None = None, at: int = 2) -> None:
        p = pcts(xs)
        ok = "info" if target is None else ("ok" if p[at] <= target else "FAIL")
        tgt = "—" if target is None else f"p{(50, 95, 99)[at]} ≤ {target:.0f}"
        rows.append((metric, *(f"{v:.1f}" for v in p), tgt, ok))

    def count(metric: str, value: int, target: int | None = 0) -> None:
        ok = "info" if target is None else ("ok" if value <= target else "FAIL")
        rows.append((metric, str(value), "—", "—", "—" if target is None else f"= {target}", ok))

    ok_sent = [s for s in sent if s.status == 200]
    by = {k: [s for s in ok_sent if s.kind == k] for k in ("align", "mention")}
    row("ack ms, all", [s.ack_s for s in ok_sent], ACK_P99_TARGET)
    row("  ack ms, /align (bolt waits for ack())", [s.ack_s for s in by["align"]])
    row("  ack ms, app_mention (auto-ack)", [s.ack_s for s in by["mention"]])
    row("  baseline: GET /healthz, same concurrency", floor)
    row("  GET /healthz during the run (1 probe / 25 ms)", probe)
    row("reply ms, all", [s.reply_s for s in ok_sent], REPLY_P95_TARGET, at=1)
    row("  reply ms, /align → response_url", [s.reply_s for s in by["align"]])
    row("  reply ms, app_mention → chat.postMessage", [s.reply_s for s in by["mention"]])
    row("  baseline: WebClient chat.postMessage to the fake", fake_rt)
    count("lost replies (none within 60 s)", sum(s.reply_s != s.reply_s for s in ok_sent))
    count(
        "failed replies (fwbot_listener_failures)",  # the reply was an error message
        int(
            counter_total(after, "fwbot_listener_failures")
            - counter_total(before, "fwbot_listener_failures")
        ),
    )
    count("non-200 acks", sum(s.status != 200 for s in sent))
    count(
        f"  acks over Slack's {SLACK_ACK_LIMIT / 1e3:.0f} s limit",
        sum(s.ack_s * 1e3 > SLACK_ACK_LIMIT for s in sent),
    )
    count("  replies the fake refused (not ok)", sum(not s.reply_ok for s in ok_sent), None)
    work0, work1 = work_seconds(before), work_seconds(after)
    for kind, (total, calls) in sorted(work1.items()):
        s0, c0 = work0.get(kind, (0.0, 0.0))
        if calls > c0:
            mean = (total - s0) / (calls - c0) * 1e3
            rows.append(
                (
                    f"  server work mean ms, {kind} (fwbot_work_seconds)",
                    f"{mean:.1f}",
                    "—",
                    "—",
                    "—",
                    "info",
                )
            )

    head = ("metric", "p50", "p95", "p99", "target", "verdict")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        print(
            " | ".join(
                x.ljust(w) if i == 0 else x.rjust(w)
                for i, (x, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    print(
        f"throughput {len(sent) / wall:.1f} requests/s ({wall:.1f} s wall, replies included); "
        f"server start {start_s:.1f} s (index build in a fresh data dir included); "
        f"{2 * WARMUP_EACH} warm-up requests excluded"
    )
    lines = server_log.splitlines()
    noisy: list[str] = []
    for i, ln in enumerate(lines):  # errors and tracebacks (with the exception line) first
        if " ERROR " in ln or " CRITICAL " in ln:
            noisy.append(ln.split(" ", 2)[-1])
        elif ln.startswith("Traceback"):
            end = next((x for x in lines[i + 1 :] if x and not x[0].isspace()), "?")
            noisy.append(f"Traceback: {end}")
    depth = [int(m.group(1)) for m in re.finditer(r"Task queue depth is (\d+)", server_log)]
    if depth:
        noisy.append(
            f"WARNING waitress.queue: Task queue depth up to {max(depth)} "
            f"({len(depth)} warnings): every waitress thread was busy"
        )
    noisy += [
        ln.split(" ", 2)[-1] for ln in lines if " WARNING " in ln and "Task queue depth" not in ln
    ]
    print(f"server log: exit code {rc} after SIGTERM; errors, tracebacks, warnings:")
    for ln in list(dict.fromkeys(x[:200] for x in noisy))[:12]:
        print(f"  {ln}")
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
