"""Small facts the bot keeps across restarts, by key (e.g. the learned ``send_rate``)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from .db import Database
from .db import aware_utc as _now
from .progress_models import AppState


class AppStateStore:
    """Small facts kept across restarts, by key (e.g. ``send_rate``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        with self.database.session(write=False) as session:
            row = session.get(AppState, key)
            return (dict(row.value), row.updated_at) if row is not None else None

    def put(self, key: str, value: dict[str, Any], *, now: datetime | None = None) -> None:
        at = _now(now)
        with self.database.session() as session:
            row = session.get(AppState, key)
            if row is None:
                session.add(AppState(key=key, value=jsonable(value), updated_at=at))
            else:
                row.value, row.updated_at = jsonable(value), at


def jsonable(value: Any) -> Any:
    """``value`` with times as ISO text and sets, tuples as lists: storable as JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, time)):
        return value.isoformat()
    return value
