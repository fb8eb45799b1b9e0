"""The frozen records the bot's stores return: exchanges, votes, alignments, examples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

AlignmentStatus = Literal["suggested", "confirmed", "corrected"]


class UnknownRecord(LookupError):
    """No exchange / alignment with the given id."""


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    id: int
    team_id: str | None
    channel_id: str
    thread_ts: str | None
    reply_ts: str | None
    user_id: str
    question: str
    answer: str
    answered: bool
    cited_ids: tuple[str, ...]
    framework_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """Vote counts of one exchange that has at least one vote."""

    exchange_id: int
    question: str
    answer: str
    answered: bool
    cited_ids: tuple[str, ...]
    helpful: int
    not_helpful: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlignmentRecord:
    """An /align run. ``suggested`` items are read-only mappings with ``id``, ``score`` and
    ``confidence`` (plus any other keys they were recorded with, e.g. ``why``)."""

    id: int
    user_id: str
    channel_id: str | None
    text: str
    suggested: tuple[Mapping[str, Any], ...]
    final_ids: tuple[str, ...] | None
    status: AlignmentStatus
    decided_by: str | None
    framework_hash: str
    created_at: datetime
    updated_at: datetime
    shared_at: datetime | None = None  # when its owner shared it in a channel

    @property
    def suggested_ids(self) -> tuple[str, ...]:
        return tuple(s["id"] for s in self.suggested)


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """A decided alignment: the proposal text and the objective ids it was aligned to;
    ``owner_id``: who wrote the text (ran the /align), ``shared``: whether the text was
    shared in a channel (then anyone may see it; otherwise only its owner)."""

    text: str
    ids: tuple[str, ...]
    owner_id: str | None = None
    shared: bool = False
