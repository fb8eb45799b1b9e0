"""Text hygiene and the lexical normal form shared by search and /align.

Pure functions: clean user text (control characters, binary, size), split it into words,
reduce words to stems so that "funded", "funding" and "funds" meet, and split long texts
into sentence-sized pieces.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from itertools import pairwise

import snowballstemmer

_WORD_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n\s*\n|\n\s*[-*•]\s+|\n(?=\s*\d+[.)]\s)")
_CONTROL = {c for c in range(32) if chr(c) not in "\n\t"} | {127}

# Function words, and the words people wrap a question in ("which objective talks about …").
# They carry no topic, in any framework.
STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are aren as at be because been
before being below between both but by can cannot could did do does doing don down during
each either etc ever every few for from further get gets got had has have having he her here
hers him his how i if in into is isn it its itself just let lets like may me might more most
much must my no nor not now of off on once one only or other ought our ours out over own per
please same shall she should so some such than that the their theirs them then there these
they this those through thus to too under until up upon us very via was we were what
whatever when where whether which while who whom whose why will with within without would
yet you your yours anything anywhere something somewhere thing things way ways kind sort
tell say says said talk talks mention mentions mentioned cover covers covered address
addresses describe describes explain find know see show mean means want wants need needs fit
fits fitting belong belongs relate relates related relevant apply applies regarding
concerning objective objectives goal goals strategic strategy framework plan priority
priorities pillar pillars target targets element section part item question answer hi hello
hey thanks thank bot pls plz whats thats theres heres dont doesnt didnt cant wont isnt arent
im ive youre
""".split()
)

# British spellings folded to one form before stemming.
_BRITISH = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"yse$"), "yze"),
    (re.compile(r"ise(s|d)?$"), r"ize\1"),
    (re.compile(r"ising$"), "izing"),
    (re.compile(r"our$"), "or"),
    (re.compile(r"ogue$"), "og"),
    (re.compile(r"tre$"), "ter"),
    (re.compile(r"mme$"), "m"),
    (re.compile(r"mmes$"), "ms"),
)
_NO_BRITISH = frozenset(
    """our four hour your pour tour flour precise wise rise raise noise exercise advertise
    otherwise promise premise expertise enterprise franchise compromise surprise concise revise
    supervise advise devise comprise poise praise cruise disguise arise demise televise
    improvise""".split()
)

# A snowball stemmer keeps its state in the object: one per thread (shared, concurrent
# requests get wrong stems, which the cache below would then keep).
_STEMMERS = threading.local()


def _stemmer() -> snowballstemmer.stemmer:
    st = getattr(_STEMMERS, "english", None)
    if st is None:
        st = _STEMMERS.english = snowballstemmer.stemmer("english")
    return st


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Snowball (Porter2) stem, after folding British spellings ("organisation", "programme")
    to American ones so both meet."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    if len(w) > 3 and w.isalpha() and w not in _NO_BRITISH:
        for pattern, repl in _BRITISH:
            w = pattern.sub(repl, w)
    return _stemmer().stemWord(w)


class CleanText(str):
    """Text :func:`clean_text` has made safe: the layers it passes through (the Slack
    service, follow-up resolution, the assistant, the search) clean it once, not each."""


def clean_text(text: str | bytes, *, max_chars: int | None = None) -> CleanText:
    """Make arbitrary user input safe to process: decode bytes, drop control characters and
    NULs, normalise Unicode (NFKC), fold runs of spaces. Right-to-left text and emoji are kept.
    Text already cleaned (and short enough) is returned as it is."""
    if isinstance(text, CleanText) and (max_chars is None or len(text) <= max_chars):
        return text
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    # Lone surrogates (from undecodable bytes in argv or JSON "\ud800") are not text.
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    text = text.translate({c: " " for c in _CONTROL}).replace("\ufffd", " ")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    return CleanText(text)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text)]


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def first_words(text: str, limit: int) -> tuple[str, int]:
    """The text up to its ``limit``-th word, layout kept, and how many words were cut."""
    spans = [m.end() for m in re.finditer(r"\S+", text)]
    if len(spans) <= limit:
        return text, 0
    return text[: spans[limit - 1]], len(spans) - limit


# A line this short, with no sentence punctuation, followed by a line that starts a sentence,
# is a heading ("Background", "Year 1 activities"), not the start of a wrapped sentence.
HEADING_WORDS = 8
# A line ending in one of these (or in a comma, a dash, an opening bracket) wraps on.
_WRAPS_ON = frozenset(
    """a an the of to for and or nor but in on at by with from into onto as than our their its
    his her your my this that these those which who whose is are was were be been will would
    shall should can could may might must has have had not no per via""".split()
)


def _starts_sentence(line: str) -> bool:
    first = line.lstrip(" \t\"'“‘(#*-•")[:1]
    return first.isupper() or first.isdigit()


def _is_heading(line: str) -> bool:
    """A line that reads as a heading: short, starting like a sentence, not wrapping on."""
    line = line.strip()
    ws = words(line)
    if not ws or len(line.split()) > HEADING_WORDS or not _starts_sentence(line):
        return False
    # a comma is a sentence's, not a heading's ("The system, bought from a local")
    return not re.search(r",|[:(\[/&–—-]$", line) and ws[-1] not in _WRAPS_ON


def _is_row(line: str) -> bool:
    """A table row as the document readers write it: cells between "|"."""
    return "|" in line


def _units(text: str) -> list[str]:
    """The text in its units: sentences, list items, and each heading and table row on its own
    (a line break after a heading, or around a row, ends a unit; other line breaks may be a
    wrapped sentence's)."""
    lines = text.split("\n")
    marked = [lines[0]]
    for before, line in pairwise(lines):
        ends = (
            before.strip()
            and line.strip()
            and (
                _is_row(before) or _is_row(line) or (_is_heading(before) and _starts_sentence(line))
            )
        )
        marked.append(("\n\n" if ends else "\n") + line)
    pieces = (p.strip(" \n-*•") for p in _SENTENCE_RE.split("".join(marked)) if p)
    return [p for p in pieces if p]


def is_prose(sentence: str) -> bool:
    """A sentence of prose, not a heading ("Objectives.") or a table row: what a reader can
    check a tag against."""
    n = len(words(sentence))
    ends = sentence.rstrip()[-1:] in (".", "!", "?", ";")
    return not _is_row(sentence) and (n > HEADING_WORDS // 2 or (n >= 3 and ends))


def split_sentences(text: str) -> list[str]:
    """The sentences (and list items, headings, table rows) of a text, trimmed, in order."""
    return [p for p in _units(text) if has_letters(p)]


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary with "…" when longer than ``limit``."""
    one_line = " ".join(text.split())
    if len(one_line) <= limit:
        return one_line
    cut = one_line[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def split_passages(text: str, *, max_words: int = 60) -> list[str]:
    """Split a long text into passages of whole sentences, at most ``max_words`` words each
    (consecutive short sentences are merged; an over-long sentence is cut). A passage keeps
    its sentences apart (a blank line between them), so that :func:`split_sentences` finds
    them again: a heading or a table row is never glued to the next sentence."""
    sentences: list[list[str]] = []
    for piece in _units(text):
        ws = piece.split()
        sentences += [ws[i : i + max_words] for i in range(0, len(ws), max_words)]
    out: list[str] = []
    current: list[str] = []
    size = 0
    for ws in sentences:
        if current and size + len(ws) > max_words:
            out.append("\n\n".join(current))
            current, size = [], 0
        current.append(" ".join(ws))
        size += len(ws)
    if current:
        out.append("\n\n".join(current))
    return [p for p in out if has_letters(p)]


# A block this short ("Background", a title line) is read with the block after it: it names
# a part, it is not one.
PART_MIN_WORDS = 12


def split_parts(text: str, *, max_words: int = 60) -> list[tuple[int, str]]:
    """:func:`split_passages` within each paragraph (blocks between blank lines): a passage
    never joins the end of one paragraph to the start of the next, so each has one part's
    topic. Returns (paragraph number, 1-based, as a reader counts them; passage). A block
    shorter than ``PART_MIN_WORDS`` words (a heading, a title) joins the block after it."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if has_letters(b)]
    out: list[tuple[int, str]] = []
    carried: list[str] = []
    for number, block in enumerate(blocks, start=1):
        if len(block.split()) < PART_MIN_WORDS and number < len(blocks):
            carried.append(block)
            continue
        whole = "\n\n".join([*carried, block])
        carried = []
        out += [(number, p) for p in split_passages(whole, max_words=max_words)]
    return out
