"""A chat model phrases a progress answer from the database's facts, and states nothing
else: every number, date, <@U…> mention, #number and status word in its reply must be in the
facts it was given (the offline answer's text); otherwise the offline answer is given. No
figure, name or status is ever the model's own."""

from __future__ import annotations

import logging
import re
from concurrent.futures import TimeoutError as FutureTimeout

from pydantic import BaseModel, Field, ValidationError

from .task import FallbackReason, ModelTask, as_data, fallback_reason, find_json, misfit

log = logging.getLogger(__name__)

PHRASE_FORMAT = 'Reply with JSON only, no other text: {"text": "..."}'
MAX_CHARS = 3000
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_ITEM = re.compile(r"#\d+")
_STATUS = re.compile(r"\b(?:on track|at risk|off track|done|overdue|no update)\b", re.I)


class Phrased(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_CHARS)


def facts_of(text: str) -> set[str]:
    """The checkable facts a text states: numbers (dates' parts included), mentions, #numbers
    and status words."""
    found = set(_NUMBER.findall(text)) | set(_MENTION.findall(text)) | set(_ITEM.findall(text))
    return found | {s.lower() for s in _STATUS.findall(text)}


def unsupported(reply: str, facts: str) -> set[str]:
    """What ``reply`` states that ``facts`` do not."""
    return facts_of(reply) - facts_of(facts)


class ProgressPhraser(ModelTask):
    def phrase(self, question: str, facts: str) -> tuple[str | None, FallbackReason | None]:
        """The model's answer from ``facts``, or (None, why not)."""
        messages = self.prompt.format_messages(
            framework_title=self.framework_title,
            question=as_data(question),
            facts=as_data(facts),
            format_instructions=PHRASE_FORMAT,
        )
        reason: FallbackReason
        try:
            found = find_json(self.reply_text(messages, Phrased.model_json_schema()))
            if not found:
                raise ValueError("its reply is not the JSON asked for")
            text = Phrased.model_validate_json(found.group(0)).text.strip()
            invented = unsupported(text, facts)
            if not invented:
                return text, None
            reason, detail = "unsupported", f"it states {sorted(invented)}, not in the facts"
        except FutureTimeout:
            reason, detail = "timeout", f"no answer within {self.timeout:.0f} s"
        except ValidationError as exc:
            reason, detail = "malformed", misfit(exc)
        except ValueError as exc:
            reason, detail = "malformed", str(exc)
        except Exception as exc:
            reason, detail = fallback_reason(exc), type(exc).__name__
        log.warning(
            "model progress answer not used (%s): %s; the offline one is given", reason, detail
        )
        self.on_fallback(reason)
        return None, reason
