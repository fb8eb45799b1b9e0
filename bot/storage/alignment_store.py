"""/align runs, the decisions on them, and the labelled examples they become."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import select

from .db import Database
from .db import aware_utc as _now
from .models import Alignment
from .records import AlignmentRecord, AlignmentStatus, LabelledExample, UnknownRecord


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _suggestion(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` with id, score and confidence checked and coerced; other keys are kept."""
    try:
        return {
            **item,
            "id": str(item["id"]),
            "score": float(item["score"]),
            "confidence": str(item["confidence"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"a suggestion needs id, score (a number) and confidence: {item!r}"
        ) from exc


def _alignment_record(row: Alignment) -> AlignmentRecord:
    return AlignmentRecord(
        id=row.id,
        user_id=row.user_id,
        channel_id=row.channel_id,
        text=row.text,
        suggested=tuple(MappingProxyType(dict(s)) for s in row.suggested or ()),
        final_ids=None if row.final_ids is None else tuple(row.final_ids),
        status=cast(AlignmentStatus, row.status),
        decided_by=row.decided_by,
        framework_hash=row.framework_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        shared_at=row.shared_at,
    )


class AlignmentStore:
    """/align runs over one :class:`Database`. Timestamps are aware UTC; methods that write
    one take ``now`` (default: the current time)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record_alignment(
        self,
        *,
        user_id: str,
        channel_id: str | None,
        text: str,
        suggested: Sequence[Mapping[str, Any]],
        framework_hash: str,
        now: datetime | None = None,
    ) -> int:
        """Store an /align run (status "suggested"); ``suggested`` items are
        ``{"id": str, "score": float, "confidence": str}``. Return its id."""
        at = _now(now)
        row = Alignment(
            user_id=user_id,
            channel_id=channel_id,
            text=text,
            suggested=[_suggestion(item) for item in suggested],
            final_ids=None,
            status="suggested",
            decided_by=None,
            framework_hash=framework_hash,
            created_at=at,
            updated_at=at,
        )
        with self.database.session() as session:
            session.add(row)
            session.flush()
            return row.id

    def alignment(self, alignment_id: int) -> AlignmentRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(Alignment, alignment_id)
            return None if row is None else _alignment_record(row)

    def decide_alignment(
        self,
        alignment_id: int,
        *,
        user_id: str,
        ids: Sequence[str],
        now: datetime | None = None,
    ) -> AlignmentRecord:
        """Store the final objective ids (deduplicated, in order): "confirmed" when they are
        the suggested ids as a set, else "corrected". A later decision replaces an earlier one."""
        final = _unique(ids)
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Alignment, alignment_id, with_for_update=True)
            if row is None:
                raise UnknownRecord(f"no alignment with id {alignment_id}")
            suggested = {s["id"] for s in row.suggested or ()}
            row.final_ids = final
            row.status = "confirmed" if set(final) == suggested else "corrected"
            row.decided_by = user_id
            row.updated_at = at
            session.flush()
            return _alignment_record(row)

    def mark_shared(self, alignment_id: int, *, now: datetime | None = None) -> AlignmentRecord:
        """Remember that the alignment was shared in a channel (the first time counts)."""
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Alignment, alignment_id, with_for_update=True)
            if row is None:
                raise UnknownRecord(f"no alignment with id {alignment_id}")
            if row.shared_at is None:
                row.shared_at = at
                session.flush()
            return _alignment_record(row)

    def recent_alignments(self, user_id: str, limit: int = 5) -> list[AlignmentRecord]:
        """A user's latest alignments, newest first."""
        with self.database.session(write=False) as session:
            rows = session.scalars(
                select(Alignment)
                .where(Alignment.user_id == user_id)
                .order_by(Alignment.created_at.desc(), Alignment.id.desc())
                .limit(limit)
            )
            return [_alignment_record(row) for row in rows]

    def labelled_examples(self, framework_hash: str) -> list[LabelledExample]:
        """Decided alignments for one framework version, newest decision first, one per text
        (the newest decision on a text wins, and its owner is the text's owner); a text is
        shared when any decided alignment of it was."""
        stmt = (
            select(Alignment.text, Alignment.final_ids, Alignment.user_id, Alignment.shared_at)
            .where(
                Alignment.framework_hash == framework_hash,
                Alignment.status.in_(("confirmed", "corrected")),
            )
            .order_by(Alignment.updated_at.desc(), Alignment.id.desc())
        )
        examples: dict[str, LabelledExample] = {}
        shared: set[str] = set()
        with self.database.session(write=False) as session:
            for text, final_ids, owner_id, shared_at in session.execute(stmt):
                if shared_at is not None:
                    shared.add(text)
                if text not in examples:
                    examples[text] = LabelledExample(
                        text=text, ids=tuple(final_ids or ()), owner_id=owner_id
                    )
        return [replace(e, shared=e.text in shared) for e in examples.values()]
