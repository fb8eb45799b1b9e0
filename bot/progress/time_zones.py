"""Owners' time zones, from Slack's ``users.info``, refreshed a few at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..storage.progress_store import ProgressStore
from .schedule import zone

log = logging.getLogger("fwbot.time_zones")

MAX_AGE = timedelta(days=1)
PER_PASS = 90  # users.info is Tier 4 (100+ a minute); a pass a minute stays inside


def refresh_time_zones(
    store: ProgressStore,
    users_info: Callable[[str], Mapping[str, Any]],
    owners: Iterable[str],
    now: datetime,
    *,
    max_age: timedelta = MAX_AGE,
    limit: int = PER_PASS,
) -> int:
    """Look up the zone of owners never looked up, then of those looked up longest ago
    (older than ``max_age``), at most ``limit`` per call. Returns how many were checked."""
    prefs = store.all_prefs()
    never = [o for o in owners if o not in prefs or prefs[o].tz_checked_at is None]
    stale = sorted(
        (
            p
            for o, p in prefs.items()
            if p.tz_checked_at is not None and now - p.tz_checked_at > max_age
        ),
        key=lambda p: p.tz_checked_at or now,
    )
    todo = (sorted(set(never)) + [p.owner_id for p in stale])[:limit]
    for owner in todo:
        try:
            user = users_info(owner)
        except Exception as exc:  # user_not_found and the like: try again after max_age
            log.warning("users.info for %s failed: %s", owner, exc)
            store.set_prefs(owner, actor="system", now=now, audit=False, tz_checked_at=now)
            continue
        tz = user.get("tz")
        known = tz if tz and zone(tz, "").key == tz else None
        old = prefs.get(owner)
        fields: dict[str, Any] = {"tz_checked_at": now}
        if known and (old is None or old.tz != known):
            fields["tz"] = known
        store.set_prefs(owner, actor="system", now=now, audit="tz" in fields, **fields)
    return len(todo)
