"""The words that frame a progress question, by intent, and the words that frame a question
about the framework itself. Patterns run on :func:`normalise`'s lowercase text, in which
chat spellings ("r", "u", "wat", "havent") are already spelled out.
"""

from __future__ import annotations

import re
from typing import Literal

Intent = Literal[
    "status", "overdue", "silent", "coverage", "least_active", "owner", "mine", "history", "changes"
]

_CHAT_SPELLINGS = {
    "r": "are",
    "u": "you",
    "ur": "your",
    "wat": "what",
    "wht": "what",
    "whats": "what is",
    "what's": "what is",
    "wots": "what is",
    "hw": "how",
    "hows": "how is",
    "how's": "how is",
    "who's": "who is",
    "whos": "who is",
    "where's": "where is",
    "doin": "doing",
    "goin": "going",
    "updt": "update",
    "updte": "update",
    "upd8": "update",
    "plz": "please",
    "pls": "please",
    "im": "i am",
    "i'm": "i am",
    "ive": "i have",
    "i've": "i have",
    "havent": "have not",
    "haven't": "have not",
    "hasnt": "has not",
    "hasn't": "has not",
    "didnt": "did not",
    "didn't": "did not",
    "dont": "do not",
    "don't": "do not",
    "doesnt": "does not",
    "doesn't": "does not",
    "isnt": "is not",
    "isn't": "is not",
    "arent": "are not",
    "aren't": "are not",
    "wasnt": "was not",
    "wasn't": "was not",
    "wont": "will not",
    "won't": "will not",
    "nobody's": "nobody is",
    "thx": "thanks",
    "abt": "about",
    "bcoz": "because",
    "wich": "which",
    "whcih": "which",
    "teh": "the",
    "overdu": "overdue",
    "ovredue": "overdue",
    "overude": "overdue",
    "overdued": "overdue",
    "progres": "progress",
    "progess": "progress",
    "porgress": "progress",
    "statu": "status",
    "stauts": "status",
    "staus": "status",
    "udpate": "update",
    "updat": "update",
    "upate": "update",
    "udpated": "updated",
    "upated": "updated",
    "updatd": "updated",
    "updaetd": "updated",
    "reportd": "reported",
    "owns": "owns",
    "lead's": "leads",
}
PERSON = "thatperson"  # what a mentioned person is called in the normalised text
_TOKEN = re.compile(r"[\w@<>|.'’-]+|[^\w\s]")


def normalise(text: str) -> str:
    """Lowercase ``text`` with curly quotes straightened and chat spellings spelled out ("going
    to" before a verb is the future: "will")."""
    text = text.replace("’", "'").replace("‘", "'").lower()
    text = re.sub(
        r"\bgoing\s+to\b(?=\s+(?:be|happen|do|get|have|make|take|start|end|finish)\b)", "will", text
    )
    out = []
    for token in re.split(r"(\s+)", text):
        core = token.strip("?!,;:")
        if core in _CHAT_SPELLINGS:
            token = token.replace(core, _CHAT_SPELLINGS[core])
        out.append(token)
    return "".join(out)


# The words progress questions turn on, for typos one edit away ("overdeu", "progrses").
CUE_WORDS = frozenset(
    """
overdue progress progressing updated update updates reported responsible initiative initiatives
activity objective objectives tracking happening
""".split()
)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def correct_cue_typos(text: str, known: frozenset[str]) -> str:
    """``text`` (normalised) with words one edit away from a cue word spelled as the cue word,
    unless ``known`` (the framework's words, as they are) has them."""
    out = []
    for token in re.split(r"(\W+)", text):
        if len(token) >= 6 and token not in CUE_WORDS and token not in known:
            token = next((c for c in sorted(CUE_WORDS) if _one_edit(token, c)), token)
        out.append(token)
    return "".join(out)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_SUBJECT_NOUN = (
    r"(?:initiatives?|projects?|programmes?|programs?|pilots?|activit(?:y|ies)|work|items?)"
)
_UPDATE_NOUN = r"(?:updates?|reports?|news|status\s+updates?|check-?ins?|word)"
_UPDATE_VERB = r"(?:updated?|updating|reported|report|reporting|posted|post|submitted|submit|sent|"
_UPDATE_VERB += r"written|write|checked\s+in|check\s+in|given\s+an?\s+update|heard)"

CUES: dict[Intent, re.Pattern[str]] = {
    "coverage": _any(
        rf"\b(?:no|without|zero|lack(?:ing)?|missing|not?\s+(?:have|has|got)\s+(?:any|an?))\s+"
        rf"(?:\w+\s+)?{_SUBJECT_NOUN}",
        r"\bnothing\s+(?:is\s+|currently\s+)?(?:running|going\s+on|happening|underway|planned)",
        r"\bno\s*(?:one|body)\s+(?:is\s+)?working\s+on\b",
        r"\b(?:objectives?|goals?|areas?|targets?|what|which|anything)\b.{0,30}\b(?:not|un)\s*covered\b"
        r"|\b(?:not|un)\s*covered\b.{0,20}\b(?:objectives?|goals?|targets?)\b"
        r"|\bcoverage\b|\bgaps?\b(?!\s+(?:in|between)\s+(?:the\s+)?(?:law|legal|data|capabilit))",
        rf"\bhow\s+many\s+{_SUBJECT_NOUN}\s+(?:are\s+)?(?:there\s+)?(?:under|for|per|in|on|by|each)",
        rf"\b{_SUBJECT_NOUN}\s+per\s+(?:objective|goal)",
        rf"\bhow\s+many\s+{_SUBJECT_NOUN}\s+(?:are\s+there|do\s+we\s+have|in\s+total|are\s+running"
        r"|running|have\s+we|exist)",
        rf"\b(?:most|more|fewer)\s+{_SUBJECT_NOUN}\b",
        rf"\b(?:which|what)\s+(?:objectives?|goals?)\s+(?:have|has|are)\s+(?:got\s+)?(?:an?\s+|any\s+|some\s+)?"
        rf"(?:{_SUBJECT_NOUN}|covered|running)",
        rf"\b(?:is|are)\s+(?:there\s+)?(?:any(?:thing)?|some(?:thing)?)\s+(?:{_SUBJECT_NOUN}\s+)?"
        r"(?:running|going\s+on|happening|underway)\s+(?:under|for|on|in)\b",
        rf"\b(?:any|which)\s+{_SUBJECT_NOUN}\s+(?:running\s+|linked\s+|tagged\s+)?(?:under|for)\s+"
        r"(?:objective|goal|\d)",
        rf"\bdoes\s+(?:objective|goal|\d).{{0,20}}\b(?:have|has)\s+(?:any\s+)?{_SUBJECT_NOUN}",
        # whether any work exists for something: "is there an initiative for 2.4?"
        rf"\b(?:is|are)\s+there\s+(?:an?|any|some)\s+{_SUBJECT_NOUN}\s+(?:for|on|under|about"
        r"|in|covering|serving)\b",
        rf"\bdo(?:es)?\s+(?:we|anyone|anybody|someone|somebody|any\s+team)\s+(?:have|has|run"
        rf"|work|works)\s+(?:an?\s+|any\s+)?(?:{_SUBJECT_NOUN}\s+)?(?:on|for|about|under|in)\b",
        rf"\bcovered\s+by\s+(?:an?|any|some)\s+{_SUBJECT_NOUN}",
        r"\b(?:all|every|each)\s+(?:the\s+)?(?:objectives?|goals?)\b.{0,30}\bcovered\b",
    ),
    "least_active": _any(
        r"(?<!\bat\s)\b(?:least|fewest|lowest|less)\s+(?:\w+\s+)?(?:active|activity|updates?|progress|moving"
        r"|going\s+on|attention|done|work|movement|initiatives?)",
        r"(?<!\bat\s)\bleast\b(?!\s+(?:\d|one|two|three|five|ten|once|half))",
        r"\b(?:which|what|who|where)\b.{0,40}\b(?:quietest|slowest|weakest|worst(?!\s+(?:case|hit"
        r"|affected))|most\s+(?:neglected|inactive|dormant|quiet|stalled"
        r"|behind))\b|\bfurthest\s+behind\b",
        r"\b(?:neglected|lagging\s+behind\s+the\s+most)\b",
    ),
    "owner": _any(
        r"\bwho\s+(?:is\s+|are\s+|was\s+)?(?:the\s+)?(?:leads?|leading|owns?|owning|owner|runs?|running"
        r"|in\s+charge|responsible|accountable|heads?|heading|manages?|managing|behind(?!\s+(?:on|with|in|schedule))|coordinat\w+"
        r"|drives?|driving|focal\s+point|point\s+person|lead)\b",
        r"\b(?:owner|owners|lead|leader|head|manager|focal\s+point)\s+(?:of|for|on)\b",
        r"\bwho\s+(?:should\s+i|do\s+i|can\s+i|to)\s+(?:ask|contact|talk\s+to|ping)\s+about\b",
        r"\bwhose\s+(?:initiative|project|pilot|programme)\b",
        rf"\bwhat\s+(?:does|do|is|are)\s+{PERSON}\s+(?:own|lead|run|manage|responsible|in\s+charge"
        r"|working\s+on|leading|running)\b",
        rf"\b{PERSON}'?s\s+(?:initiatives|projects|items|portfolio|work)\b",
        rf"\b{PERSON}\s+(?:owns?|leads?|runs?|manages?|is\s+(?:responsible|in\s+charge|leading))\b",
        rf"\b(?:initiatives|projects|items)\s+(?:owned|led|run)\s+by\s+{PERSON}\b",
    ),
    "silent": _any(
        rf"\b(?:has|have|did|had)\s+not\s+(?:\w+\s+){{0,2}}?{_UPDATE_VERB}",
        rf"\bnot\s+(?:been\s+)?{_UPDATE_VERB}\s+(?:since|in|for)\b",
        rf"\b(?:never|no\s*one|nobody|no\s+one\s+has)\s+(?:\w+\s+)?{_UPDATE_VERB}",
        rf"\bno\s+(?:new\s+)?{_UPDATE_NOUN}\s+(?:in|for|since|at\s+all|from|yet|lately|recently)\b",
        rf"\bno\s+(?:new\s+)?{_UPDATE_NOUN}\b",
        r"\b(?:gone|went|been|going|are|is|stayed)\s+(?:\w+\s+)?(?:quiet|silent|dark|stale)\b",
        r"\b(?:silent|radio\s+silence|stale|not\s+heard|heard\s+nothing|dormant|inactive|stalled)\b",
        rf"\bwithout\s+(?:an?\s+|any\s+)?{_UPDATE_NOUN}\b",
        rf"\b(?:has|have|did)\s+{PERSON}\s+(?:\w+\s+)?(?:updated|reported|posted|submitted)\b",
        rf"\b(?:missing|no)\s+(?:their\s+)?{_UPDATE_NOUN}",
    ),
    "overdue": _any(
        r"\b(?:overdue|over\s+due|past\s+due|late|delayed|behind(?:\s+schedule)?|slipp"
        r"(?:ing|ed)|lagging|missed|miss(?:ing)?\s+(?:the|their|a|its|my)\s+deadline)\b",
        r"\bdue\s+(?:date|dates|today|tomorrow|this|next|soon|by|on|in|within|before|now|yet)\b"
        r"|\b(?:is|are|was|were|items?|updates?|reports?|anything|what|something)\s+(?:\w+\s+)?due\b"
        r"(?!\s+(?:diligence|to|process|regard|course))",
        r"\bnot\s+on\s+time\b",
        r"\b(?:which|what|any|anything|anyone|is|are|who)\b.{0,40}\b(?:stuck|blocked)\b",
        r"\b(?:do|should|must|shall)\s+i\s+(?:still\s+)?(?:need\s+to\s+|have\s+to\s+)?(?:update"
        r"|report|send|submit|post|file)\b|\bi\s+(?:still\s+)?(?:need|have)\s+to\s+(?:update|report)\b",
    ),
    "history": _any(
        r"\bwhat\s+(?:\w+\s+){0,2}(?:did|has|have|had|was|were|got)\s+.{0,60}?\b(?:report|reported|say|said|post|posted|write"
        r"|wrote|written|submit|submitted|share|shared|update|updated|send|sent)\b",
        rf"\bwhen\s+(?:did|was|has|have)\b.{{0,50}}\b(?:last\s+)?(?:{_UPDATE_VERB}|{_UPDATE_NOUN})\b",
        rf"\b(?:past|previous|all|old|earlier|last\s+few|history\s+of|log\s+of)\s+(?:the\s+)?{_UPDATE_NOUN}",
        r"\b(?:update|report|reporting)\s+(?:history|log|trail)\b|\bhistory\b|\btimeline\b",
        r"\bwhat\s+will\s+.{1,60}?\b(?:report|say|post|write|submit)\b",
        rf"\b(?:show|list|see|read|give)\s+(?:me\s+)?(?:the\s+|all\s+)?{_UPDATE_NOUN}\s+notes\b",
        rf"\b(?:last|latest|most\s+recent|previous)\s+{_UPDATE_NOUN}\s+(?:on|for|from|of|by|about)\b",
        rf"\b(?:show|list|see|read|give)\s+(?:me\s+)?(?:the\s+|all\s+)?{_UPDATE_NOUN}\s+(?:on|for|from|of|by)",
        rf"\b{_UPDATE_NOUN}\s+(?:posted|submitted|written|sent)\s+by\b",
    ),
    "changes": _any(
        r"\bwhat\s+(?:is\s+|has\s+|have\s+)?(?:changed|new|happened|moved)\b",
        r"\b(?:statuses|status|anything|everything|what|which)\s+(?:that\s+|which\s+|has\s+"
        r"|have\s+)?(?:changed|moved)\b",
        r"\bany(?:thing)?\s+(?:new|changed?s?|happen(?:ed|ing))\b",
        r"\bchanges?\s+(?:since|this|in\s+the|over|last|today|from|recently)\b",
        rf"\b(?:recent|latest|new|fresh)\s+(?:{_UPDATE_NOUN}|changes|activity|movement)\b",
        rf"\bwho\s+(?:has\s+)?(?:{_UPDATE_VERB})\b",
        rf"\b(?:did|has|have)\s+(?:anyone|anybody|people|everyone|any\s+one)\s+(?:\w+\s+)?"
        rf"{_UPDATE_VERB}",
        rf"\b{_UPDATE_NOUN}\s+(?:since|this\s+week|today|came\s+in|arrived|were\s+posted)\b",
        r"\b(?:were|was|got|been|have\s+been|has\s+been)\s+(?:updated|reported\s+on)\b",
        rf"\bany\s+{_UPDATE_NOUN}\b(?!\s+(?:on|about|for|from|regarding|re)\b)",
        r"^\W*what\s+is\s+(?:the\s+)?(?:latest|news)\s*\??\s*$",
    ),
    "status": _any(
        r"\bhow\s+(?:is|are|was|were|am)\s+(?!you\b)(?:.{1,80}?\s)?(?:doing|going|progressing|coming"
        r"(?:\s+along)?|getting\s+on|tracking|moving|performing|advancing|shaping\s+up|looking)\b",
        r"\bhow\s+(?:is\s+|are\s+)?(?:we|things|it|they|everything|stuff|thatperson)\b.{0,40}?\b"
        r"(?:doing|going|progressing|coming|tracking|moving|getting\s+on|performing)\b",
        # "how is the pilot?" asks how it is; "how is INTERPOL funded?" (a participle) asks how
        # something is done: a question about the framework
        r"\bhow\s+(?:is|are|was|were)\s+(?!you\b)\S+(?:\s+\S+){0,8}(?<!ed)(?<!\bdone)"
        r"(?<!\brun)(?<!\bmade)(?<!\bbuilt)(?<!\bpaid)(?<!\bled)(?<!\bheld)(?<!\bkept)(?<!\bset)"
        r"(?<!\bchosen)(?<!\bknown)(?<!\bseen)(?<!\btaken)(?<!\bgiven)(?<!\bspent)\s*\??$",
        r"\bhow\s+(?:did|has|have)\s+(?!you\b).{1,60}?\b(?:go|do|perform|progress|move|gone|done"
        r"|been|fared?)\b",
        r"\bhow\s+(?:\w+\s+)?(?:going|doing|progressing)\b",
        r"\bhow\s+(?:\S+\s+){1,8}?(?:is|are)\s+(?:doing|going|progressing|coming\s+along|getting\s+on"
        r"|tracking|moving|performing|shaping\s+up)\b",
        r"\b(?:summary|overview|report|review|picture)\s+of\s+(?:the\s+|our\s+)?progress\b"
        r"|\bprogress\s+(?:summary|overview|so\s+far)\b|\bprogress\s*\??\s*$",
        r"\bsituation\s+(?:with|on|of|for|at|in|regarding)\b|\bstate\s+of\s+(?:play|affairs)\b"
        r"|\bwhat\s+is\s+the\s+state\s+of\b",
        r"\b(?:is|are)\s+.{1,50}\b(?:moving|progressing|advancing|going\s+well|going\s+ok)\s*\??\s*$",
        r"\bwhat\s+progress\b|\bprogress\s+(?:has|have|did)\s+(?:been\s+|we\s+)?(?:made|achieved)",
        r"\bhow\s+(?:far|well)\s+(?:along\s+)?(?:is|are|have)\b",
        r"\bprogress(?:ing)?\s+(?:on|of|with|for|in|under|at|made|so\s+far|towards?|against|across"
        r"|by|per|regarding)\b",
        r"\b(?:any|making|made|much|some|real)\s+progress\b|\bprogress\s+report\b",
        r"\bon\s+track\b|\bon\s+schedule\b|\bstate\s+of\s+play\b",
        # an update's own statuses (on track, at risk, off track) and how complete it is
        r"\b(?:is|are|was|were)\s+(?!there\b).{0,60}\b(?:at\s+risk|off[\s-]track)\b"
        r"|\b(?:what|which)\s+(?:is|are)\s+(?:at\s+risk|off[\s-]track)\b"
        r"|^\W*(?:any(?:thing|one)?|something|anybody)\s+(?:\w+\s+){0,2}(?:at\s+risk|off[\s-]track)\b"
        r"|\bany\s+risks?\s+(?:on|for|to|with|in|at)\b",
        r"\b(?:percent|per\s+cent|percentage|%)\s+(?:done|complete|completed|finished)\b"
        r"|\bhow\s+(?:much|many\s+percent)\s+(?:is\s+)?(?:done|complete)\b",
        r"\bwhat\s+is\s+(?:the\s+|its\s+|their\s+)?(?:current\s+|latest\s+)?status\b",
        r"\bstatus\s+(?:of|on|for|update|updates|report|check|please)\b|^\W*status\b",
        r"\b(?:current|latest|overall)\s+status\b|^\W*(?:\S+\s+){0,5}status\s*\??\s*$",
        r"\bwhere\s+(?:are|is|do)\s+(?:we|things|it|they)\b.{0,20}\b(?:with|on|at|stand)\b",
        rf"\b(?:any|an|latest|quick)\s+(?:news|{_UPDATE_NOUN})\s+(?:on|about|for|from|regarding|re)\b",
        r"\b(?:updates?|news)\s+(?:on|about|regarding)\b",
        r"\b(?:give|send|get|need|want|show|share|have)\s+(?:me\s+|us\s+)?(?:a|the)\s+(?:quick\s+|short\s+)?"
        r"(?:status\s+|progress\s+)?(?:report|update|summary|overview)\s+(?:on|about|of|for)\b",
        r"\bwhat\s+is\s+(?:happening|going\s+on)\s+(?:with|on|in|under)\b",
        r"\b(?:the\s+)?latest\s+(?:on|about|with)\b",
        r"\b(?:done|finished|completed|achieved)\s+(?:so\s+far|yet)\b",
    ),
}

# Words for updates: with a period and nothing else, a question about what came in.
UPDATE_WORDS = re.compile(rf"\b{_UPDATE_NOUN}\b|\b{_UPDATE_VERB}\b|\bactivity\b|\bchanges\b")

# "how can I track my request": asking how to do something, not how work is going.
HOW_TO = re.compile(r"^\W*how\s+(?:can|do|should|could|would|to)\s+(?:i|we|you|one)?\b")

# Cues of ownership by the asker ("what do I own", "my initiatives").
MINE_CUES = _any(
    r"\b(?:do|did|should)\s+i\s+(?:own|lead|run|manage|coordinate)\b",
    r"\b(?:initiatives?|projects?|things|items?|ones?|what|everything|anything|all)\s+(?:that\s+)?"
    r"i\s+(?:own|lead|run"
    r"|manage|coordinate|am\s+(?:responsible|in\s+charge|leading|running|working\s+on))\b",
    r"\bi\s+am\s+(?:responsible|in\s+charge|the\s+owner|the\s+lead|assigned)\b",
    r"\bwhat\s+am\s+i\s+(?:leading|running|working\s+on|doing|managing|owning|on)\b",
    r"\bassigned\s+to\s+me\b|\bowned\s+by\s+me\b|\bon\s+my\s+plate\b|\bmine\b",
    rf"\bmy\s+(?:own\s+)?(?:{_SUBJECT_NOUN}|stuff|portfolio|things|list|tasks?|responsibilit\w+)\b",
    r"\bam\s+i\s+(?:responsible|in\s+charge|the\s+owner|leading|running|assigned)\b",
    r"\bam\s+i\s+(?:an?\s+|the\s+)?(?:owner|lead|leader)\s+(?:of|for|on)\b",
    r"\b(?:did|have|has)\s+i\s+(?:been\s+|got\s+|get\s+)?assigned\b|\bi\s+(?:was|got|have"
    r"\s+been)\s+assigned\b",
)
# The asker meaning themself; the phrases that only address the bot are removed first.
_NOT_SELF = re.compile(
    r"\b(?:tell|show|give|send|let|remind|help|get|brief|update)\s+me\b"
    r"|\b(?:can|could|may|shall|should|do)\s+i\s+(?:please\s+)?(?:talk\s+to|speak\s+to"
    r"|contact|ping|reach|write\s+to|go\s+to)\b"
    r"|\b(?:can|could|may|shall|should)\s+i\s+(?:please\s+)?(?:see|get|have|know|ask|check|find"
    r"|look|view|read|hear)\b"
    r"|\bi\s+(?:want|need|would\s+like|'d\s+like|wonder|was\s+wondering|wanted)\s+to\s+"
    r"(?:know|see|check|find\s+out|understand|ask|get|hear)\b"
    r"|\bi\s+(?:would|'d)\s+like\b|\bi\s+wonder\b|\bdo\s+you\s+know\b"
    r"|\bi\s+(?:want|need)\b(?!\s+to\s+(?:update|report|post|send|submit|file))"
    r"|\bi\s+am\s+(?:curious|wondering|interested|asking|looking|trying|told|not\s+sure)\b"
    r"|\bi\s+(?:think|guess|believe|heard|feel|suppose|mean|was\s+told|see|hope|understand"
    r"|saw|read|noticed|asked)\b"
    r"|\b(?:check|find|look\s+up|pull|list|get|fetch|show)\s+(?:this\s+|that\s+|it\s+)?for\s+me\b"
)
SELF = re.compile(  # "I-24/7" is a name, not the asker
    r"\b(?:i|my|mine|myself|me)\b(?!-)(?!\s*(?:team|unit|department|directorate|colleagues?|boss"
    r"|question|manager|director|opinion|understanding|head|chief|supervisor|view))"
)


def means_self(text: str) -> bool:
    """Whether the asker speaks of themself (not "tell me", "can I see")."""
    return bool(SELF.search(_NOT_SELF.sub(" ", text)))


# A question about the framework's text, not about the work done on it.
FRAMEWORK_FRAME = _any(
    r"\b(?:which|what|wich)\s+(?:\w+\s+)?(?:objectives?|goals?|pillars?|targets?|one|part|section"
    r"|priorit(?:y|ies))\s+(?:(?:is|are)\s+(?:about|on|for|related|relevant|concerned|dedicated"
    r"|focused|linked|closest|best|most\s+relevant|the\s+(?:right|best|closest|one))|covers?|deals?"
    r"|talks?|mentions?|relates?|fits?|addresses|refers?|concerns?|says?|would|should|can|could"
    r"|do|does|best|focus(?:es)?|speaks?|matches|applies|corresponds?|supports?)\b",
    r"\b(?:does|do|is)\s+(?:any|an|the|a|one)\s+(?:objectives?|goals?|targets?)\s+(?:deal|cover"
    r"|talk|mention|address|relate|say|refer|speak|concern|focus|about|on)\b",
    r"\b(?:does|do|did)\s+(?:the|our|this)\s+(?:framework|strategy|strategic\s+plan|plan)\b",
    r"\b(?:new|changed?|different|differ)\b.{0,30}\b(?:framework|strategy|strategic\s+plan"
    r"|version|edition)\b|\b(?:framework|strategy|plan)\b.{0,30}\b(?:changed?|differ)",
    r"\b(?:is|are)\s+there\s+(?:an?|any)\s+(?:objectives?|goals?|targets?)\b",
    r"\bwhat\s+(?:does|do|did)\s+(?:the\s+)?(?:framework|strategy|plan|objective|goal|\d)"
    r"[^?]{0,30}?\b(?:say|says|mean|cover|state|talk)\b",
    r"\b(?:does|do)\s+(?:the|our)\s+(?:framework|strategy|plan)\s+(?:say|talk|mention|cover)\b",
    r"\bwhat\s+is\s+(?:objective|goal|\d)[^?]{0,20}\babout\b",
    r"^\W*(?:please\s+)?(?:explain|describe|summari[sz]e|define|quote|read\s+out)\b",
    r"^\W*what\s+is\s+(?:in\s+)?(?:objective|goal|\d)\S*\s*$",
    r"\b(?:objectives?|goals?|targets?)\s+(?:about|on|for|that\s+covers?)\b",
)

# Words of the question's frame: what is left names the initiative or topic asked about.
FRAME_WORDS = frozenset(
    """
how is are was were doing going progressing progress progressed coming along getting tracking
track moving performing advancing shaping looking status state play update updates updated
updating report reports reported reporting news overdue due late delayed behind schedule off
slipping lagging missed miss deadline deadlines silent quiet stale dormant inactive heard
posted post submitted submit written sent checked check lead leads leading led leader owner
owners own owns owned owning run runs running responsible accountable charge head heads manage
manages managing coordinate coordinator coordinating drive drives driving focal point person
who whose history log timeline latest last recent recently previous past changed change
changes new happened happening least fewest lowest quietest slowest most activity active
covered coverage gap gaps nothing anything everything something running underway ongoing
there any currently right now still yet far well so much many done finished completed achieved
we us our you your they them their it its this that these those what which where when why
hi hello hey please thanks quick overall general across board anyone someone somebody nobody
thatperson zero summary overview situation stuck blocked risk worst people bot given giving
working assigned moved attention organisation organization every total number count whole
curious wondering interested asking looking trying like want wonder remind quickly briefly
exactly actually really generally basically already again also just maybe perhaps kindly dear
colleagues guys folks good morning afternoon evening today's week's month's hear info
information details detail quickly currently presently moment think guess believe feel
suppose mean told hope understand saw noticed asked asks question manager boss director chief
supervisor check checking whether could would should can will might wanted opinion view okay ok
yes sure need needs
everyone since ago lately time times tell show give list see know stand stands with on of for
went gone go goes plate ask contact talk ping anyone recently anybody whole
about in at under per each all initiative initiatives projects programme programmes work items
item efforts effort stuff things our team teams people staff mine my me i am myself
""".split()
)
