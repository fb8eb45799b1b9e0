"""Benchmark of the fwbot knowledge core against the naive chroma / langchain paths.

    .venv/bin/python bench/bench_core.py [--quick]

Prints the machine, then one table: metric | fwbot | baseline | target | pass. Baselines are
measured in the same run. A report, not a test: the exit code is always 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = """Which objective is about training?|What does 1.3 say?|What is our vision?
What are INTERPOL's values?|What is the mission?|How many goals are there?|What is goal 2?
Which objective covers cybercrime?|Where do we talk about data protection?
Is there an objective on funding?|How do we improve data quality?
What about gender diversity in the workforce?|Which goal is about innovation?
Does the framework mention research and development?|How do we support National Central Bureaus?
What does the framework say about regional offices?|Which objective is about interoperability?
Is counter-terrorism part of the strategy?|How do we share best practices with member countries?
What is our approach to risk management?|Which objective deals with the governing bodies?
How do we work with the private sector?|What does 5.1 cover?|Tell me about objective 4.2
Which objective is about secure infrastructure for information exchange?
How do we exchange criminal intelligence?|Anything about analysis of crime data?
What does the framework say about academia?|Which objective is about change management?
How do we attract and retain talent?|Is there anything on advocacy with governments?
Which objective covers future trends and foresight?|What about standard setting?
How do we harmonize policing practices?|Which objective talks about a culture of innovation?
What supports specialist networks?|Where is operational coordination mentioned?
Which objective is about connectivity to our systems?|What about the I-24/7 network?
Does anything cover border security?|How does INTERPOL help with missing persons?
Which objective would a forensic training course fit?|What about capacity building in Africa?
Which objective relates to compliance?|Where does the due diligence framework appear?
How do we fund projects sustainably?|Which objective is about products and services?
What is the Global Policing Initiative?|Which objective is about the security architecture?
How do we deliver programmes on the ground?|What does goal 5 aim for?|What is objective 3.2?
Is there a goal about being an information hub?|What is the exchange rate of the euro?
Who won the football match yesterday?|Which objective is about a safe working environment?
How do we measure operational performance?|What about cooperation with the United Nations?
Which objective covers expert knowledge exchange?|How can we modernise police tools?
What does the framework say about drones and new technology?""".replace("\n", "|").split("|")

SENTENCES = [
    "We will run regional workshops for investigators on open-source intelligence.",
    "The project trains forensic specialists from twelve member countries in digital evidence.",
    "A new validation step at data entry will improve the quality of notices and diffusions.",
    "Funding comes from a multi-donor trust fund and covers three years of activity.",
    "We propose to connect border posts in West Africa to the I-24/7 secure network.",
    "Analysts will produce quarterly threat assessments on cyber-enabled financial crime.",
    "The initiative builds a partnership with universities to study future crime trends.",
    "A mentoring programme will help retain young female officers in specialised units.",
    "Member countries asked for a shared platform to exchange best practices on cybercrime.",
    "The team will harmonise procedures for handling biometric data across regions.",
    "We will strengthen compliance checks and the due diligence process for private partners.",
    "Regional bureaus will receive on-site support to deliver the programme locally.",
    "Senior officials will present the results at the General Assembly and at UN forums.",
    "An innovation lab will prototype tools for predictive analysis of trafficking routes.",
    "Change management coaching will accompany the migration to the new case system.",
    "The operation coordinates specialised units against environmental crime networks.",
    "Interoperability with regional databases will let officers query several systems at once.",
    "Risk management training will be offered to every project manager in the secretariat.",
    "The governing bodies will review their rules to better represent member countries.",
    "A helpdesk will assist National Central Bureaus with day-to-day operational standards.",
    "Private sector partners will share indicators of compromise through a trusted channel.",
    "We will pilot a new product for tracing illicit firearms and adapt it to user feedback.",
    "Data protection officers will audit the processing of personal data every year.",
    "Our outreach to ministries aims at sustained political support for police cooperation.",
]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) * 1e3


def proposal(rng: random.Random, n_words: int) -> str:
    out: list[str] = []
    while len(out) < n_words:
        out += rng.choice(SENTENCES).split()
    return " ".join(out[:n_words]).rstrip(".") + "."


def timed(fns: dict, items: list[str], rounds: int) -> dict[str, list[float]]:
    """Per-call latencies. The systems take turns on each item, so background load on the
    machine hits them alike. Warm: each makes one call before timing starts."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn(items[0])
    for _ in range(rounds):
        for it in items:
            for name, fn in fns.items():
                t = time.perf_counter()
                fn(it)
                out[name].append(time.perf_counter() - t)
    return out


def naive_collection(fw, embedder):
    """The naive path: chroma over the element texts (objectives, goals, statements)."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(Settings(anonymized_telemetry=False))
    col = client.get_or_create_collection(
        "naive", embedding_function=embedder.as_chroma(), metadata={"hnsw:space": "cosine"}
    )
    els = fw.elements()
    col.upsert(ids=[e.id for e in els], documents=[e.text for e in els])
    return col


NAIVE_CLI = """
import sys, json, chromadb
from chromadb.config import Settings
from framework_data.loader import load_framework
from retrieval.embeddings import MiniLMEmbedder
client = chromadb.PersistentClient(sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = client.get_or_create_collection(
    "naive", embedding_function=MiniLMEmbedder().as_chroma(), metadata={"hnsw:space": "cosine"})
if col.count() == 0:  # first run builds it
    els = load_framework().elements()
    col.add(ids=[e.id for e in els], documents=[e.text for e in els])
print(json.dumps(col.query(query_texts=[sys.argv[2]], n_results=5)["ids"]))
"""


def rss_child(kind: str, data_dir: str) -> None:
    """Typical workload in a fresh process; prints peak RSS in MB."""
    rng = random.Random(7)
    aligns = [proposal(rng, n) for n in [40, 80, 150, 300, 600] * 4][:19]
    aligns.append(proposal(rng, 20_000))
    if kind == "fwbot":
        os.environ["FWBOT_DATA_DIR"] = data_dir
        from bot.wiring.composition import Services
        from bot.wiring.settings import Settings

        assistant = Services(Settings()).assistant
        ask: Callable[[str], object] = assistant.ask
        align: Callable[[str], object] = assistant.align
    else:
        from framework_data.loader import load_framework
        from retrieval.embeddings import MiniLMEmbedder

        col = naive_collection(load_framework(), MiniLMEmbedder())

        def naive(q: str) -> object:
            return col.query(query_texts=[q], n_results=5)

        ask = align = naive
    for i in range(100):
        ask(QUESTIONS[i % len(QUESTIONS)])
    for text in aligns:
        align(text)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run_cli(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"warning: {argv[1:4]} exited {proc.returncode}: {proc.stderr[-400:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    ap.add_argument("--rss-child", nargs=2, metavar=("KIND", "DATA_DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        return rss_child(*args.rss_child)
    import onnxruntime

    q = args.quick
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    ask_rounds, align_rounds, n_props, n_batch, cli_runs = (
        (1, 2, 3, 20, 3) if q else (5, 5, 5, 200, 5)
    )
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, "
        f"load average {load0:.2f}{' (--quick)' if q else ''}"
    )
    tmp = tempfile.TemporaryDirectory(prefix="fwbot-bench-")
    data_dir = Path(tmp.name) / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FWBOT_FRAMEWORK", "CHROMA_HOST", "CHROMA_PORT")
    }
    env.update(FWBOT_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    # ---- fresh-process ask (first, so nothing else competes for the CPU) ------------------
    question = "Which objective is about training?"
    cmds = {
        "fwbot": [sys.executable, "-m", "bot.cli", "ask", question, "--json"],
        "naive": [sys.executable, "-c", NAIVE_CLI, str(Path(tmp.name) / "naive"), question],
    }
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd in cmds.values():
        run_cli(cmd, env, tmp.name)  # builds the index; not timed
    for _ in range(cli_runs):  # alternate, so load spikes hit both
        for k, cmd in cmds.items():
            walls[k].append(run_cli(cmd, env, tmp.name))
    cli = {k: statistics.median(v) for k, v in walls.items()}

    # ---- peak RSS: both children at once (RSS does not depend on CPU contention) -----------
    procs = {
        k: subprocess.Popen(
            [sys.executable, __file__, "--rss-child", k, str(data_dir)],
            env=env,
            cwd=tmp.name,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in cmds
    }
    rss = {}
    for k, proc in procs.items():
        out, err = proc.communicate()
        try:
            rss[k] = float(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(f"warning: rss child {k} failed: {err[-400:]}")
            rss[k] = float("nan")

    # ---- in-process: build once ------------------------------------------------------------
    from langchain_core.vectorstores import InMemoryVectorStore

    from framework_data.loader import load_framework
    from retrieval.assistant import FrameworkAssistant
    from retrieval.embeddings import MiniLMEmbedder
    from retrieval.search import FrameworkSearcher

    fw = load_framework()
    embedder = MiniLMEmbedder()
    assistant = FrameworkAssistant(FrameworkSearcher(fw, embedder))
    col = naive_collection(fw, embedder)
    lc = InMemoryVectorStore(embedding=embedder.as_langchain())
    lc.add_texts([e.text for e in fw.elements()], ids=[e.id for e in fw.elements()])

    def chroma_q(text):
        return col.query(query_texts=[text], n_results=5)

    ask = timed(
        {
            "fwbot": assistant.ask,
            "chroma": chroma_q,
            "langchain": lambda t: lc.similarity_search(t, k=5),
        },
        QUESTIONS,
        ask_rounds,
    )
    rng = random.Random(42)
    props = [proposal(rng, 300) for _ in range(n_props)]
    al = timed({"fwbot": assistant.align, "chroma": chroma_q}, props, align_rounds)

    # ---- batch align vs the raw model on the same texts -------------------------------------
    rng = random.Random(3)
    batch = [
        proposal(rng, int(np.exp(rng.uniform(np.log(15), np.log(450))))) for _ in range(n_batch)
    ]
    t = time.perf_counter()
    embedder.embed(batch)
    raw = time.perf_counter() - t
    # The model alone reads at most 256 tokens of a text; align reads every word. For scale,
    # the raw model over every word too: each text in windows of ~180 words (< 256 tokens).
    windows = [
        " ".join(w[i : i + 180]) for w in (b.split() for b in batch) for i in range(0, len(w), 180)
    ]
    t = time.perf_counter()
    embedder.embed(windows)
    raw_full = time.perf_counter() - t
    in_model = [0.0]
    real_embed = embedder.embed

    def counting_embed(texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return real_embed(texts)
        finally:
            in_model[0] += time.perf_counter() - t0

    # An instance attribute while it runs: counts the model's time inside align.
    with mock.patch.object(embedder, "embed", counting_embed):
        t = time.perf_counter()  # as `fwbot align --batch` does: chunks of 64 through align_many
        for start in range(0, len(batch), 64):
            assistant.align_many(batch[start : start + 64])
        batch_fw = time.perf_counter() - t
    t = time.perf_counter()
    col.query(query_texts=batch, n_results=5)
    batch_ch = time.perf_counter() - t

    # ---- the table ------------------------------------------------------------------------
    rows: list[tuple[str, str, str, str, str]] = []

    def row(metric, ours, base, target, fmt="{:.1f}"):
        ok = "info" if target is None else ("ok" if ours <= target else "FAIL")
        tgt = "—" if target is None else "≤ " + fmt.format(target)
        rows.append(
            (metric, fmt.format(ours), base if isinstance(base, str) else fmt.format(base), tgt, ok)
        )

    for base, label in (("chroma", "chroma query"), ("langchain", "langchain InMemory")):
        for p, target in ((50, 15.0), (95, 40.0)):
            row(
                f"ask warm p{p} ms (base: {label})", pct(ask["fwbot"], p), pct(ask[base], p), target
            )
    row(
        "align 300 words p50 ms (base: chroma whole text)",
        pct(al["fwbot"], 50),
        pct(al["chroma"], 50),
        60.0,
    )
    row("align 300 words p95 ms", pct(al["fwbot"], 95), pct(al["chroma"], 95), None)
    row(
        f"batch align {n_batch} / raw embed of texts, ×",
        batch_fw / raw,
        batch_ch / raw,
        1.3,
        "{:.2f}",
    )
    row("  batch align wall s (base: chroma batch query)", batch_fw, batch_ch, None, "{:.2f}")
    row("  raw model: embed the texts once, s", raw, raw, None, "{:.2f}")
    row("  raw model over every word (180-word windows), s", raw_full, raw_full, None, "{:.2f}")
    row(
        "  batch align / raw model over every word, ×",
        batch_fw / raw_full,
        batch_ch / raw_full,
        None,
        "{:.2f}",
    )
    row("  of batch align: time inside embedder.embed, s", in_model[0], "—", None, "{:.2f}")
    row(f"fresh `fwbot ask` median of {cli_runs}, s", cli["fwbot"], cli["naive"], 2.5, "{:.2f}")
    row("peak RSS MB (asks + aligns + 20k words)", rss["fwbot"], rss["naive"], 350.0, "{:.0f}")

    head = ("metric", "fwbot", "baseline", "target", "pass")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    print(
        f"elapsed {time.perf_counter() - started:.0f} s; load average {load0:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end (other processes inflate the timings)"
    )
    print(
        f"{len(QUESTIONS)} questions x {ask_rounds} rounds; {n_props} proposals of 300 words "
        f"x {align_rounds} rounds; batch of {n_batch}; {cli_runs} fresh processes each"
    )
    tmp.cleanup()


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test: say what broke, exit 0
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
