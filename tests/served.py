"""Small helpers of the tests that drive a served `fwbot serve` (HTTP or Socket Mode):
unique ids, a Slack timestamp for now, and the texts inside blocks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any


def unique(prefix: str) -> str:
    """``prefix`` and 8 random hex digits: a channel or id no other test uses."""
    return prefix + secrets.token_hex(4).upper()


def now_ts() -> str:
    """A Slack message timestamp for now."""
    return f"{time.time():.6f}"


def block_texts(obj: Any) -> Iterator[str]:
    """Every string under ``text`` keys of a block structure."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from block_texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from block_texts(item)
