"""Benchmark of the chat-model path beside the offline one, measured in the same run.

    .venv/bin/python bench/bench_llm.py [--rounds 3]

An OpenAI-compatible server on loopback (tests/openai_server.py, in a process of its own, as
a model server would be) answers instantly, citing the first element it is given; the real
langchain-openai client talks to it (FWBOT_LLM=openai:bench, FWBOT_LLM_BASE_URL). Rows:

* ask p50 / p95 ms, offline: FrameworkAssistant.ask on varied questions (the baseline);
* ask p50 / p95 ms, model: the same questions through the model path (retrieval, prompt
  rendering, the HTTP round trip to loopback, parsing, validation), the answer cache cleared
  before each call; target: p50 ≤ offline p50 + 10 ms;
* the same, streamed (server-sent events, the text handed over as it arrives, as in Slack
  threads), and when its first text was handed over;
* fallback after a timeout: FWBOT_LLM_TIMEOUT=1 and a server that takes 3 s: the time until
  the offline answer is returned; target ≤ timeout + 200 ms.

A report, not a test: the exit code is always 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.wiring.composition import Services  # noqa: E402
from bot.wiring.settings import Settings  # noqa: E402

QUESTIONS = [
    "Which objective is about training police officers?",
    "How do we help countries fight cybercrime?",
    "Which objective covers forensic science and databases?",
    "What does the framework say about border security?",
    "Which objective is about working with private sector partners?",
    "How does the organisation support counter-terrorism?",
    "Which objective covers a sustainable funding model?",
    "What is said about innovation in policing?",
]


def _server(*mode: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "openai_server.py"), *mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _timed(ask, question: str) -> float:
    started = time.perf_counter()
    ask(question)
    return time.perf_counter() - started


def _timed_stream(ask, question: str) -> tuple[float, float]:
    """(whole answer, first text handed over) in seconds, through the streaming path."""
    started = time.perf_counter()
    first: list[float] = []

    def on_text(piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    ask(question, on_text=on_text)
    whole = time.perf_counter() - started
    return whole, first[0] if first else whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    data_dir = tempfile.mkdtemp(prefix="fwbot-bench-llm-")
    os.environ["FWBOT_DATA_DIR"] = data_dir
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"{len(QUESTIONS)} questions × {args.rounds} rounds"
    )
    offline = Services(Settings(_env_file=None)).assistant
    fast, fast_url = _server("cite_first")
    slow, slow_url = _server("slow", "3")
    try:
        settings = Settings(_env_file=None, fwbot_llm="openai:bench", fwbot_llm_base_url=fast_url)
        services = Services(settings)
        services.searcher = offline.searcher  # one index, one model
        model = services.assistant
        composer = model.composer
        for q in QUESTIONS:  # warm both paths (and the client's connection)
            offline.ask(q)
            model.ask(q)
        off, llm, streamed, first_text = [], [], [], []
        for _ in range(args.rounds):
            for q in QUESTIONS:
                off.append(_timed(offline.ask, q))
                composer.cache = type(composer.cache)()  # type: ignore[attr-defined]
                llm.append(_timed(model.ask, q))
                composer.cache = type(composer.cache)()  # type: ignore[attr-defined]
                whole, first = _timed_stream(model.ask, q)
                streamed.append(whole)
                first_text.append(first)
        fallbacks = services.metrics.llm_fallbacks
        counted = sum(
            fallbacks.labels(r)._value.get()
            for r in ("error", "malformed", "unknown_id", "timeout")
        )
        slow_settings = Settings(
            _env_file=None,
            fwbot_llm="openai:bench",
            fwbot_llm_base_url=slow_url,
            fwbot_llm_timeout="1",
        )
        slow_services = Services(slow_settings)
        slow_services.searcher = offline.searcher
        timed_out = _timed(slow_services.assistant.ask, QUESTIONS[0])
    finally:
        for proc in (fast, slow):
            proc.kill()
    off50, off95 = _ms(off)
    llm50, llm95 = _ms(llm)
    st50, st95 = _ms(streamed)
    first50, _ = _ms(first_text)
    rows = [
        ("ask p50 / p95 ms, offline (baseline)", f"{off50:.1f} / {off95:.1f}", "—", "info"),
        (
            "ask p50 / p95 ms, model (loopback, instant)",
            f"{llm50:.1f} / {llm95:.1f}",
            f"p50 ≤ {off50 + 10:.1f}",
            "ok" if llm50 <= off50 + 10 else "FAIL",
        ),
        ("  model path added, p50 ms", f"{llm50 - off50:.1f}", "≤ 10", "info"),
        (
            "ask p50 / p95 ms, model streamed (SSE)",
            f"{st50:.1f} / {st95:.1f}",
            f"p50 ≤ {off50 + 10:.1f}",
            "ok" if st50 <= off50 + 10 else "FAIL",
        ),
        ("  first text handed over, p50 ms", f"{first50:.1f}", "—", "info"),
        (
            "fallback after a 1 s timeout, ms",
            f"{timed_out * 1000:.0f}",
            "≤ 1200",
            "ok" if timed_out <= 1.2 else "FAIL",
        ),
        ("  fallbacks during the timed runs", f"{counted:.0f}", "= 0", "info"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric'.ljust(width)} | {'value':>15} | {'target':>12} | verdict")
    for name, value, target, verdict in rows:
        print(f"{name.ljust(width)} | {value:>15} | {target:>12} | {verdict}")
    print(
        f"elapsed {time.perf_counter() - started:.0f} s; load average "
        f"{os.getloadavg()[0]:.2f} at end"
    )


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report, not a test: say what broke, exit 0
        traceback.print_exc()
        print("bench: aborted (see the traceback above)")
    sys.exit(0)
