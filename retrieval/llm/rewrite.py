"""A chat model rewrites a question into a standalone one in the framework's language, for
retrieval: a follow-up is joined to what it points back to, another language is translated.
On any failure (timeout, error, malformed reply) the caller keeps the offline way (the
follow-up rules of :mod:`retrieval.followup`, or the question as asked)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout

from pydantic import BaseModel, Field, ValidationError

from ..language import language_name
from .task import FallbackReason, ModelTask, as_data, fallback_reason, find_json

log = logging.getLogger(__name__)

REWRITE_FORMAT = 'Reply with JSON only, no other text: {"question": "..."}'
MAX_CHARS = 1000


class Rewritten(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_CHARS)


class ModelRewriter(ModelTask):
    def standalone(self, question: str, earlier: Sequence[str], language: str) -> str | None:
        """The question rewritten, or None (the caller keeps its own way)."""
        messages = self.prompt.format_messages(
            framework_title=self.framework_title,
            language=language_name(language),
            earlier="\n".join(f"<question>{as_data(e)}</question>" for e in earlier) or "(none)",
            question=as_data(question),
            format_instructions=REWRITE_FORMAT,
        )
        try:
            found = find_json(self.reply_text(messages))
            if not found:
                raise ValueError("not JSON")
            return Rewritten.model_validate_json(found.group(0)).question.strip()
        except FutureTimeout:
            reason: FallbackReason = "timeout"
        except (ValueError, ValidationError):
            reason = "malformed"
        except Exception as exc:
            reason = fallback_reason(exc)
        log.warning("question not rewritten by the model (%s); kept as asked", reason)
        self.on_fallback(reason)
        return None
