"""Questions about the progress of tracked initiatives, told from questions about the
framework, and read offline: which kind of progress question (the intent) and what it names
(objectives, goals, initiatives, a person, a period).

A question is a progress question by its frame ("how is X going", "what's overdue", "who
hasn't updated", "who leads X", "what changed this week"), not by its words: "which objective
is about monitoring progress" is about the framework. A mixed question ("what does 1.3 say and
how are we doing on it?") is a progress question whose framework part is kept aside.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from framework_data.schema import Framework

from .framework_words import framework_stems, own_stems
from .progress_cues import (
    CUES,
    FRAME_WORDS,
    FRAMEWORK_FRAME,
    HOW_TO,
    MINE_CUES,
    PERSON,
    UPDATE_WORDS,
    Intent,
    correct_cue_typos,
    means_self,
    normalise,
)
from .progress_dates import Period, find_period
from .progress_titles import GENERIC_STEMS, TitleIndex, TitleMatch, title_tokens
from .text import stem, words

__all__ = ["Intent", "Period", "ProgressQuery", "may_be_progress", "parse_progress"]

# When cues of several intents appear, the more specific one decides.
INTENT_ORDER: tuple[Intent, ...] = (
    "coverage",
    "least_active",
    "owner",
    "silent",
    "overdue",
    "history",
    "changes",
    "status",
)


class ProgressQuery(BaseModel):
    intent: Intent
    objectives: list[str]
    goals: list[str]
    unknown: list[str]
    initiatives: list[int]
    ambiguous: bool
    named_initiative: str | None
    person: str | None
    me: bool
    period: Period | None
    framework_question: str | None
    topic: str | None


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_ADDRESS = re.compile(r"^\s*(?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>|@\w+)[\s,:]*")
# Slack markup that names nothing: channel links, links (their text is kept), emoji, entities.
_SLACK_MARKUP = [
    (re.compile(r"<#[A-Z0-9]+(?:\|([^>]*))?>"), r" \1 "),
    (re.compile(r"<(?:https?|mailto):[^>|]*\|([^>]*)>"), r" \1 "),
    (re.compile(r"<(?:https?|mailto):[^>]*>"), " "),
    (re.compile(r"<!(?:here|channel|everyone)[^>]*>"), " "),
    (re.compile(r":[a-z0-9_+-]+:"), " "),
    (re.compile(r"&amp;"), "&"),
    (re.compile(r"&lt;|&gt;"), " "),
    (re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)"), " "),
]
_MENTION_SUBJECT = re.compile(r"^\s*(?:'s|owns?|leads?|runs?|has|have|is|did|reported|hasn)\b")
_GOAL_REF = re.compile(
    r"\b(?:goal|goals|pillar|priority|strategic\s+goal|sdg)\b\s*(?:no\.?|number|n°|#)?\s*"
    r"(\d+[a-z]?|[a-z])\b(?!\.\d)|(?<![\w.])g(\d+)\b"
    r"|\b(\d+)(?:st|nd|rd|th)\s+(?:strategic\s+)?(?:goal|pillar|priority)\b",
    re.I,
)
_OBJ_REF = re.compile(
    r"(?<![\w.])(?:(?:objective|obj\.?|target|item)\s*(?:no\.?|number|n°|#)?\s*)?"
    r"(\d+\.[a-z0-9]+)(?![\w.]*\d)",
    re.I,
)
NUMBER_WORDS = "one two three four five six seven eight nine ten".split()
ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth".split()
_GOAL_BY_NUMBER_WORD = re.compile(
    rf"\b(?:the\s+)?({'|'.join(ORDINALS)})\s+(?:strategic\s+)?(?:goal|pillar|priority)\b"
    rf"|\b(?:goal|pillar)\s+({'|'.join(NUMBER_WORDS)})\b",
    re.I,
)
_CLAUSE_SPLIT = re.compile(
    r"\?\s*|;\s*|\.\s+|\s*[,-]?\s+(?:and|but|also|plus|then)\s+(?:also\s+)?(?=(?:how|who|what|where"
    r"|when|which|is|are|has|have|any|tell|show|give|list|can|could|did)\b)"
)

_INITIATIVE_WORDS = frozenset(
    "initiative initiatives project projects programme programmes program pilot pilots".split()
)

TITLE_NAMED = 0.75  # share of a title that framework words must cover to name it

_INDEXES: dict[int, tuple[Mapping[int, str], int, TitleIndex]] = {}
_INDEX_LOCK = threading.Lock()


_WORDS: dict[int, tuple[Framework, frozenset[str]]] = {}


def framework_words(fw: Framework) -> frozenset[str]:
    """The words (as written, lowercase) of the framework's elements: never typos of cues."""
    cached = _WORDS.get(id(fw))
    if cached is not None and cached[0] is fw:
        return cached[1]
    found = frozenset(
        w
        for el in fw.elements()
        for t in (el.text, el.title or "", el.scope or "", *el.keywords)
        for w in words(t)
    )
    if len(_WORDS) > 8:
        _WORDS.clear()
    _WORDS[id(fw)] = (fw, found)
    return found


def title_index(titles: Mapping[int, str]) -> TitleIndex:
    """The index of ``titles``, built once per title mapping (kept while it is unchanged)."""
    key = id(titles)
    with _INDEX_LOCK:
        cached = _INDEXES.get(key)
        if cached is not None and cached[0] is titles and cached[1] == len(titles):
            return cached[2]
    index = TitleIndex(titles)
    with _INDEX_LOCK:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        _INDEXES[key] = (titles, len(titles), index)
    return index


def _mentions(question: str) -> tuple[str, str | None]:
    """The question without its leading address to the bot and Slack markup, and the person
    it mentions."""
    for pattern, replacement in _SLACK_MARKUP:
        question = pattern.sub(replacement, question)
    question = " ".join(question.split())
    m = _LEADING_ADDRESS.match(question)
    if m and m.end() < len(question):
        rest = question[m.end() :]
        # "<@U1> owns what?": a leading mention that is the sentence's subject stays.
        if not (_MENTION.fullmatch(m.group(0).strip(" ,:")) and _MENTION_SUBJECT.match(rest)):
            question = rest
    found = _MENTION.search(question)
    return question, found.group(1) if found else None


def _intent_of(text: str) -> Intent | None:
    for intent in INTENT_ORDER:
        if intent == "status" and HOW_TO.search(text):
            continue
        if CUES[intent].search(text):
            return intent
    return None


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT.split(text) if c and c.strip()]


SHORT_QUESTION_WORDS = 15  # "updates from the last 24 hours?": a period and updates, nothing else
LONG_TEXT_WORDS = 40  # longer: a text with context (a proposal), whose questions alone count


def _asked(text: str) -> str:
    """``text``, or in a long text only its sentences that ask (end with "?")."""
    if len(text.split()) <= LONG_TEXT_WORDS:
        return text
    return " ? ".join(re.findall(r"[^.?!\n]*\?", text))


def _classify(text: str) -> tuple[Intent | None, str | None]:
    """The intent of ``text`` (normalised) and its framework clause, if it has one."""
    clauses = _clauses(_asked(text))
    framework_clause = None
    intents: list[Intent] = []
    for clause in clauses:
        intent = _intent_of(clause)
        if FRAMEWORK_FRAME.search(clause) and intent not in ("coverage", "least_active"):
            if framework_clause is None:
                framework_clause = clause
            continue
        if intent is not None:
            intents.append(intent)
    if not intents:
        return None, None
    whole = _intent_of(" ".join(c for c in clauses if c != framework_clause))
    best = whole if whole is not None else intents[0]
    return best, framework_clause if len(clauses) > 1 else None


def _ids(text: str, fw: Framework) -> tuple[list[str], list[str], list[str], str]:
    """Objective ids, goal ids and unknown ids the text names, and the text without them."""
    objectives: list[str] = []
    goals: list[str] = []
    unknown: list[str] = []
    depth = {len(o.id.split(".")) for _, o in fw.objectives()}
    for m in _OBJ_REF.finditer(text):
        raw = m.group(1).strip(".")
        obj = fw.objective(raw)
        if obj is not None:
            objectives.append(obj.id)
        elif len(raw.split(".")) in depth and raw.split(".")[0].isalnum():
            unknown.append(raw)
    text = _OBJ_REF.sub(" ", text)
    for m in _GOAL_REF.finditer(text):
        raw = m.group(1) or m.group(2) or m.group(3)
        goal = fw.goal(raw)
        if goal is not None:
            goals.append(goal.id)
        elif raw.isdigit() or (m.group(1) and len(raw) <= 2):
            unknown.append(f"goal {raw}")
    text = _GOAL_REF.sub(" ", text)
    for m in _GOAL_BY_NUMBER_WORD.finditer(text):
        words_for = ORDINALS if m.group(1) else NUMBER_WORDS
        number = str(words_for.index((m.group(1) or m.group(2)).lower()) + 1)
        goal = fw.goal(number)
        if goal is not None:
            goals.append(goal.id)
        else:
            unknown.append(f"goal {number}")
    text = _GOAL_BY_NUMBER_WORD.sub(" ", text)
    return list(dict.fromkeys(objectives)), list(dict.fromkeys(goals)), unknown, text


def _naming_words(text: str) -> list[str]:
    return [
        w
        for w in title_tokens(re.sub(r"'s\b", " ", text))
        if w not in FRAME_WORDS and not w.isdigit() and not w.startswith("<@")
    ]


def _phrase(original: str, naming: list[str]) -> str | None:
    """The words of ``original`` from the first naming word to the last ("biometrics pilot
    in West Africa"), as the asker wrote them."""
    if not naming:
        return None
    spans = []
    for w in (naming[0], naming[-1]):
        m = re.search(rf"(?<!\w){re.escape(w)}(?!\w)", original, re.I)
        if m is None:
            return " ".join(naming)
        spans.append(m)
    start, end = spans[0].start(), spans[1].end()
    if end <= start:
        return " ".join(naming)
    return re.sub(r"^(?:the|a|an|our)\s+", "", original[start:end].strip(" ?!.,'\""), flags=re.I)


def _names_a_topic(fw: Framework, naming: list[str]) -> bool:
    """Whether the naming words are the framework's own topic words (not an initiative's)."""
    if not naming or any(w in _INITIATIVE_WORDS for w in naming):
        return False
    topics = framework_stems(fw)
    content = [w for w in naming if stem(w) not in GENERIC_STEMS]
    known = sum(stem(w) in topics for w in content)
    return bool(content) and known * 3 >= len(content) * 2


def _topic_first(fw: Framework, naming: list[str], text: str, match: TitleMatch | None) -> bool:
    """Whether the naming words name an objective's topic before any initiative: they are
    the framework's words, and cover at most part of a title, which the question does not
    point at as a thing ("the data quality audit") unless it says it means an objective."""
    if not _names_a_topic(fw, naming):
        return False
    if match is None or re.search(r"\b(?:objective|goal|area|topic|theme)s?\b", text):
        return True
    pointed = re.search(rf"\b(?:the|this|that)\s+{re.escape(naming[0])}\b", text)
    return match.covered < TITLE_NAMED and pointed is None


def parse_progress(
    question: str,
    framework: Framework,
    titles: Mapping[int, str],
    *,
    now: datetime,
    tz: ZoneInfo,
    resolve_topic: Callable[[str], str | None] | None = None,
) -> ProgressQuery | None:
    """What a progress question asks, or None when ``question`` is not about progress."""
    question, person = _mentions(question)
    text = normalise(_MENTION.sub(f" {PERSON} ", question))
    text = correct_cue_typos(text, framework_words(framework))
    intent, framework_clause = _classify(text)
    me = means_self(text)
    if intent is None and MINE_CUES.search(text):
        intent = "mine"
    period, rest = find_period(text, now=now, tz=tz)
    short = len(text.split()) <= SHORT_QUESTION_WORDS
    if intent is None and short and period is not None and UPDATE_WORDS.search(text):
        intent = "changes"  # "updates from the last 24 hours?"
    if intent is None:
        return None
    if intent == "owner" and MINE_CUES.search(text) and not re.search(r"\bwho\b", text):
        intent = "mine"
    objectives, goals, unknown, rest = _ids(rest, framework)
    naming = [w for w in _naming_words(rest) if stem(w) not in own_stems(framework)]
    phrase = _phrase(question, naming)
    initiatives: list[int] = []
    ambiguous = False
    topic = None
    if naming:
        match = title_index(titles).find(" ".join(naming))
        if resolve_topic is not None and phrase and _topic_first(framework, naming, text, match):
            found = resolve_topic(phrase)
            if found is not None:
                topic = phrase
                objectives += [found] if found not in objectives else []
        if topic is None and match is not None:
            initiatives, ambiguous = list(match.ids), match.ambiguous
    if intent == "history" and not (person or me or naming or objectives or goals or unknown):
        intent = "changes"  # "what have people reported since Friday": the updates of all
    named_work = any(w in _INITIATIVE_WORDS for w in title_tokens(text))
    if intent == "owner" and not (
        objectives or goals or unknown or initiatives or topic or person or named_work
    ):
        return None  # "who is the head of the national police": no tracked work named
    framework_question = None
    if framework_clause is not None:
        framework_question = _original_clause(question, framework_clause)
    return ProgressQuery(
        intent=intent,
        objectives=objectives,
        goals=goals,
        unknown=unknown,
        initiatives=initiatives,
        ambiguous=ambiguous,
        named_initiative=phrase if topic is None else None,
        person=person,
        me=me and person is None,
        period=period,
        framework_question=framework_question,
        topic=topic,
    )


def _original_clause(question: str, clause: str) -> str:
    """``clause`` (normalised) as the asker wrote it, when it can be found."""
    first, last = clause.split()[0], clause.split()[-1]
    m = re.search(rf"{re.escape(first)}.*?{re.escape(last)}", question, re.I)
    return m.group(0) if m else clause


# One empty mapping for every first look: the title indexes are cached by mapping, a new
# one per question would crowd the real titles' index out.
_NO_TITLES: Mapping[int, str] = MappingProxyType({})


def may_be_progress(question: str, framework: Framework, *, now: datetime, tz: ZoneInfo) -> bool:
    """Whether ``question`` can be a progress question, read without the initiatives' titles
    (nothing to load): False means :func:`parse_progress` returns None whatever the titles.
    Only a "who owns …?" needs a title to be one, so its cue alone says maybe."""
    if parse_progress(question, framework, _NO_TITLES, now=now, tz=tz) is not None:
        return True
    return bool(CUES["owner"].search(normalise(question)))
