"""/align with a chat model: the engine proposes, the model reviews.

The engine's best candidates (up to :data:`CANDIDATES`) go to the model with their
probabilities; the model may reorder them, drop them or say none fits, and writes the one-line
"why" of each kept tag. It can never add an objective the engine did not propose: a reply
that does, or that is not the JSON asked for, is sent back once with the problem named, then
the engine's own alignment is given. A timeout or provider error gives the engine's alignment
too (reported by reason, like answers). Scores stay the engine's calibrated probabilities.

A review that keeps no candidate while the engine is confident (a tag of "high" or "medium"
confidence) must say why in ``no_fit_reason``; without a reason it is sent back once, then
the engine's alignment is given (reason "declined")."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field, ValidationError

from ..align import MAX_TAGS, SECONDARY_PROBABILITY, Alignment, Example, Tag
from .task import (
    FallbackReason,
    ModelTask,
    as_data,
    failure,
    fallback_reason,
    find_json,
    misfit,
    redact,
)

log = logging.getLogger(__name__)

CANDIDATES = 6
MAX_EXAMPLES = 3  # close proposals staff tagged before, shown as examples
MAX_WHY = 200
CONFIDENT = ("high", "medium")  # the engine's tags a review may drop only with a reason
REVIEW_FORMAT = (
    'Reply with JSON only, no other text: {"tags": [{"id": "<candidate id>", "why": "..."}, '
    '...]} (best first). When no candidate fits: {"tags": [], "no_fit_reason": "..."}, '
    "saying in one line why none does."
)


class ReviewedTag(BaseModel):
    id: str
    why: str = Field(min_length=1, max_length=MAX_WHY)


class Review(BaseModel):
    tags: list[ReviewedTag] = Field(default_factory=list, max_length=MAX_TAGS)
    no_fit_reason: str | None = Field(default=None, max_length=MAX_WHY)


def review_schema(ids: Sequence[str]) -> dict[str, Any]:
    """The review's JSON schema with its tags held to the candidates ``ids``: a server that
    decodes by the schema cannot tag anything else."""
    schema = Review.model_json_schema()
    tag = schema["$defs"]["ReviewedTag"]
    tag["properties"]["id"] = {**tag["properties"]["id"], "enum": list(ids)}
    return schema


class _Rejected(Exception):
    def __init__(self, problem: str, reason: FallbackReason = "malformed") -> None:
        super().__init__(problem)
        self.reason = reason


class ModelReviewer(ModelTask):
    def review(
        self,
        proposal: str,
        offline: Alignment,
        proposed: Sequence[Tag],
        examples: Sequence[Example] = (),
    ) -> Alignment:
        """The model's choice among ``proposed`` (the engine's candidates, best first), or
        ``offline`` when the model fails."""
        if not proposed:
            return offline
        by_id = {t.id: t for t in proposed}
        messages = self.prompt.format_messages(
            framework_title=self.framework_title,
            candidates="\n".join(
                f'<objective id="{t.id}" probability="{t.score:.2f}">{as_data(t.why)}</objective>'
                for t in proposed
            ),
            proposal=as_data(proposal[:8000]),
            examples="\n".join(
                f'<example ids="{", ".join(ids)}">{as_data(text[:600])}</example>'
                for text, ids in examples[:MAX_EXAMPLES]
            )
            or "(none)",
            format_instructions=REVIEW_FORMAT,
        )
        schema = review_schema(list(by_id))
        try:
            reply = self.reply_text(messages, schema)
            try:
                return self._checked(reply, by_id, offline, proposed)
            except _Rejected as first:
                repair = [
                    *messages,
                    AIMessage(content=reply),
                    HumanMessage(content=f"That reply cannot be used: {first}. {REVIEW_FORMAT}"),
                ]
                return self._checked(self.reply_text(repair, schema), by_id, offline, proposed)
        except _Rejected as exc:
            reason: FallbackReason = exc.reason
            detail = str(exc)
        except FutureTimeout:
            reason, detail = "timeout", f"no answer within {self.timeout:.0f} s"
        except Exception as exc:
            reason, detail = fallback_reason(exc), failure(exc)
        log.warning(
            "model review of /align not used (%s): %s; the engine's tags are given",
            reason,
            redact(detail)[:200],
        )
        self.on_fallback(reason)
        return offline.model_copy(update={"fallback": reason})

    def _checked(
        self, reply: str, by_id: dict[str, Tag], offline: Alignment, proposed: Sequence[Tag]
    ) -> Alignment:
        found = find_json(reply or "")
        if not found:
            raise _Rejected("it is not the JSON asked for")
        try:
            review = Review.model_validate_json(found.group(0))
        except ValidationError as exc:
            raise _Rejected(misfit(exc)) from None
        unknown = [t.id for t in review.tags if t.id not in by_id]
        if unknown:
            raise _Rejected(
                f"{', '.join(unknown)} is not a candidate (candidates: {', '.join(by_id)})",
                "unknown_id",
            )
        kept = list(dict.fromkeys(t.id for t in review.tags))
        why = {t.id: t.why.strip() for t in review.tags}
        if offline.no_fit:
            kept = []  # the engine found no fit: a review cannot make one (it may say why)
        # What the engine is sure of ("high": right at least 9 times in 10) stays, first: a
        # model may add to it, reorder the rest, or explain it, not drop or demote it.
        # A tag the engine did not give is added only when the engine finds it as likely as
        # it requires of its own tags after the first: the model chooses, it does not guess.
        sure = {t.id: t for t in offline.tags if t.confidence == "high"}
        given = {t.id for t in offline.tags}
        kept = [i for i in kept if i in given or by_id[i].score >= SECONDARY_PROBABILITY]
        tags = list(sure.values()) + [by_id[i] for i in kept if i not in sure]
        tags = [t.model_copy(update={"why": why[t.id]}) if t.id in why else t for t in tags]
        confident = [t.id for t in offline.tags if t.confidence in CONFIDENT]
        if not tags and confident and not (review.no_fit_reason or "").strip():
            raise _Rejected(
                f"it keeps no candidate, though the engine is confident in "
                f"{', '.join(confident)}; keep the candidates that fit, or say in "
                "no_fit_reason why none does",
                "declined",
            )
        if not tags:
            return offline.model_copy(
                update={
                    "tags": [],
                    "no_fit": True,
                    "nearest": offline.nearest or list(proposed[:3]),
                    "reviewer": "model",
                }
            )
        return offline.model_copy(
            update={"tags": tags, "no_fit": False, "nearest": [], "reviewer": "model"}
        )
