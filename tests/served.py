"""Small helpers of the tests that drive a served `fwbot serve` (HTTP or Socket Mode):
unique ids, a Slack timestamp for now, and the texts inside blocks (local_slack.recording)."""

from __future__ import annotations

import secrets
import time

from local_slack.recording import block_texts

__all__ = ["block_texts", "now_ts", "unique"]


def unique(prefix: str) -> str:
    """``prefix`` and 8 random hex digits: a channel or id no other test uses."""
    return prefix + secrets.token_hex(4).upper()


def now_ts() -> str:
    """A Slack message timestamp for now."""
    return f"{time.time():.6f}"
