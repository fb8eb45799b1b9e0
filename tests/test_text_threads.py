"""Stemming is safe under concurrent requests (the Slack app answers from many threads)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from retrieval.text import stem


def test_stems_are_the_same_from_many_threads():
    words = [
        f"{base}{suffix}"
        for base in ("organis", "connect", "train", "generat", "nation")
        for suffix in ("ation", "ations", "ing", "ed", "es", "ional", "ingly")
    ]
    words = [w + "x" * (i % 7) for i, w in enumerate(words * 40)]  # many distinct words
    stem.cache_clear()
    expected = {w: stem.__wrapped__(w) for w in words}
    stem.cache_clear()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(stem.__wrapped__, words * 5))
    finally:
        sys.setswitchinterval(interval)
    assert got == [expected[w] for w in words * 5]
