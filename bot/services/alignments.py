"""/align as a service: the engine, the labelled examples that vote with it, and the record.

Every run is stored; a confirmation or correction turns it into a labelled example, which
later runs on similar proposals take into account (see :mod:`retrieval.examples`). Other
replicas pick new examples up within ``REFRESH_SECONDS``.

A run belongs to the user who ran it: only they (or an admin) may decide, share or track it
(:mod:`.ownership`), and an example's words are quoted to nobody else unless it was shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Container
from dataclasses import dataclass

from retrieval.align import MAX_TAGS, Alignment, Tag
from retrieval.assistant import FrameworkAssistant
from retrieval.examples import ExampleMemory, LabelledExample, vote
from retrieval.llm.limits import current_user

from ..storage.store import AlignmentRecord, Store, UnknownRecord
from .ownership import NOT_YOUR_ALIGNMENT, require_owner_or_admin

REFRESH_SECONDS = 60.0


class UnknownObjectives(ValueError):
    """Ids that are not objectives of the framework; the message lists them."""


@dataclass(frozen=True)
class AlignmentRun:
    alignment_id: int
    text: str
    alignment: Alignment


class AlignmentService:
    def __init__(
        self,
        assistant: FrameworkAssistant,
        store: Store,
        *,
        admins: Container[str] = frozenset(),
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.admins = admins
        self.framework = assistant.framework
        self.framework_hash = self.framework.content_hash()
        self.goal_of = {o.id: g.citation_id for g, o in self.framework.objectives()}
        self._memory: ExampleMemory | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    # ---- labelled examples ----------------------------------------------------------------

    @property
    def memory(self) -> ExampleMemory:
        with self._lock:
            stale = time.monotonic() - self._loaded_at > REFRESH_SECONDS
            if self._memory is None or stale:
                examples = [
                    LabelledExample(e.text, tuple(e.ids), owner_id=e.owner_id, shared=e.shared)
                    for e in self.store.labelled_examples(self.framework_hash)
                ]
                if self._memory is None:
                    self._memory = ExampleMemory(self.assistant.searcher.embedder, examples)
                else:
                    self._memory.replace(examples)
                self._loaded_at = time.monotonic()
            return self._memory

    # ---- runs -----------------------------------------------------------------------------

    def align_text(self, text: str, *, asker: str | None = None) -> Alignment:
        """The engine's tags, with the votes of close labelled examples blended in. A tag an
        example voted for quotes that example only to ``asker`` when it is theirs, or when it
        was shared; otherwise it gives only the similarity."""

        def may_quote(example: LabelledExample) -> bool:
            return example.shared or (asker is not None and example.owner_id == asker)

        memory = self.memory
        neighbours = memory.nearest(text) if len(memory) else []
        examples = [(n.example.text, list(n.example.ids)) for n in neighbours]
        # raises AlignInputError for wordless text; a model reviewer sees the examples
        alignment = self.assistant.align(text, examples)
        if neighbours:
            alignment = vote(alignment, neighbours, self.goal_of, may_quote=may_quote)
        return alignment

    def align(self, text: str, *, user_id: str, channel_id: str | None) -> AlignmentRun:
        token = current_user.set(user_id)  # whose budget a model review counts against
        try:
            alignment = self.align_text(text, asker=user_id)
        finally:
            current_user.reset(token)
        suggested = [t.model_dump() for t in alignment.tags]
        alignment_id = self.store.record_alignment(
            user_id=user_id,
            channel_id=channel_id,
            text=text,
            suggested=suggested,
            framework_hash=self.framework_hash,
        )
        return AlignmentRun(alignment_id, text, alignment)

    def find(self, alignment_id: int | None) -> AlignmentRecord | None:
        """The stored /align run, or None (no id, or gone)."""
        return self.store.alignment(alignment_id) if alignment_id else None

    def owned(self, alignment_id: int | None, user_id: str) -> AlignmentRecord | None:
        """The stored /align run for ``user_id`` to act on, or None (no id, or gone);
        NotYours when it is someone else's and they are not an admin."""
        record = self.find(alignment_id)
        if record is not None:
            require_owner_or_admin(record.user_id, user_id, self.admins, NOT_YOUR_ALIGNMENT)
        return record

    def _owned_or_gone(self, alignment_id: int, user_id: str) -> AlignmentRecord:
        record = self.owned(alignment_id, user_id)
        if record is None:
            raise UnknownRecord(f"no alignment with id {alignment_id}")
        return record

    def share(self, alignment_id: int, *, user_id: str) -> AlignmentRecord:
        """``user_id`` shares the run in a channel (its owner or an admin, else NotYours): its
        text is public from now on, and may be quoted as an example to anyone."""
        self._owned_or_gone(alignment_id, user_id)
        record = self.store.mark_shared(alignment_id)
        if record.final_ids is not None:
            self.memory.add(self._example(record))
        return record

    def recent(self, user_id: str, *, limit: int) -> list[AlignmentRecord]:
        return self.store.recent_alignments(user_id, limit=limit)

    def stored(self, record: AlignmentRecord) -> Alignment:
        """The alignment as it was suggested, rebuilt from the record (no model call)."""
        tags = []
        for s in record.suggested:
            oid = str(s.get("id", ""))
            if oid in self.goal_of:  # an id of an older framework version is left out
                tags.append(
                    Tag(
                        id=oid,
                        goal=self.goal_of[oid],
                        score=float(s.get("score", 0)),
                        confidence=s.get("confidence", "low"),
                        why=str(s.get("why", "")),
                        evidence=str(s.get("evidence") or ""),
                        part=s.get("part") or None,
                        note=s.get("note") or None,
                    )
                )
        return Alignment(tags=tags[:MAX_TAGS], no_fit=not tags)

    def decide(self, alignment_id: int, *, user_id: str, ids: list[str]) -> AlignmentRecord:
        """Confirm (the suggested ids) or correct (other ids, or none: "no objective fits") a
        run; it becomes a labelled example. Only its owner or an admin may (else NotYours);
        UnknownRecord when it is gone."""
        self._owned_or_gone(alignment_id, user_id)
        unknown = [i for i in ids if i not in self.goal_of]
        if unknown:
            verb = "is not an objective" if len(unknown) == 1 else "are not objectives"
            raise UnknownObjectives(f"{', '.join(unknown)} {verb} of {self.framework.title}.")
        record = self.store.decide_alignment(alignment_id, user_id=user_id, ids=ids)
        self.memory.add(self._example(record, ids))
        return record

    @staticmethod
    def _example(record: AlignmentRecord, ids: list[str] | None = None) -> LabelledExample:
        final = record.final_ids if record.final_ids is not None else tuple(ids or ())
        return LabelledExample(
            record.text,
            tuple(final),
            owner_id=record.user_id,
            shared=record.shared_at is not None,
        )
