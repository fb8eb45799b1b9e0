"""The bot's storage API for questions and /align: one :class:`Store` over one database,
made of the exchange store (exchanges, votes) and the alignment store (runs, decisions,
examples). Kept requests live in :mod:`.work_store`, progress tracking in
:mod:`.progress_store`."""

from __future__ import annotations

from .alignment_store import AlignmentStore
from .db import Database
from .exchange_store import ExchangeStore
from .records import (
    AlignmentRecord,
    AlignmentStatus,
    ExchangeRecord,
    FeedbackRow,
    LabelledExample,
    UnknownRecord,
)

__all__ = [
    "AlignmentRecord",
    "AlignmentStatus",
    "ExchangeRecord",
    "FeedbackRow",
    "LabelledExample",
    "Store",
    "UnknownRecord",
]


class Store(ExchangeStore, AlignmentStore):
    """Everything the question and /align features store, over one :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database
