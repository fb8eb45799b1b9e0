"""Periods named in a progress question ("this week", "last month", "since Monday", "in the
past 30 days", "since 3 November"), resolved in the asker's time zone to UTC bounds.

Calendar periods follow the asker's calendar: "last month" is the previous calendar month in
their zone, "this week" starts on Monday 00:00 there. Spans without a calendar ("for a month",
"past 30 days") count back from now. A date after now is the label "future".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

MONTHS = (
    "january february march april may june july august september october november december"
).split()
_MONTH_RE = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?"
)
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_WEEKDAY_RE = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs"
    r"|thu|fri|sat|sun)\b"
)
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple of": 2,
    "few": 3,
}
_UNIT_DAYS = {
    "hour": 1 / 24,
    "day": 1,
    "fortnight": 14,
    "week": 7,
    "month": 30,
    "quarter": 90,
    "year": 365,
}
_FIXED_SPANS = {7: "last_7_days", 30: "last_30_days", 90: "last_90_days"}


class Period(BaseModel):
    label: str  # "today", "this_week", ..., "future" or "custom"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    words: str  # how an answer states it: "in the last 30 days"


_AMOUNT = r"(?P<n>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|couple of|few)"
_UNIT = r"(?P<unit>hour|day|week|fortnight|month|quarter|year)s?"
_SPANS = [
    re.compile(
        rf"\b(?:in|for|during|over|within)\s+(?:the\s+)?(?:last|past|previous)\s+{_AMOUNT}?\s*"
        rf"{_UNIT}\b",
        re.I,
    ),
    re.compile(rf"\b(?:last|past|previous)\s+{_AMOUNT}\s*{_UNIT}\b", re.I),
    re.compile(rf"\b(?:in|for|over|within)\s+(?:the\s+)?{_AMOUNT}\s*{_UNIT}\b", re.I),
    re.compile(rf"\b{_AMOUNT}\s*{_UNIT}\s+(?:ago|now|already)\b", re.I),
    re.compile(rf"\bpast\s+{_UNIT}\b", re.I),
]
_SINCE_WEEKDAY = re.compile(rf"\bsince\s+(?:last\s+)?(?P<day>{_WEEKDAY_RE})\b", re.I)
_DAY_MONTH = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MONTH_RE})(?:\s+(?P<y>\d{{4}}))?\b"
    rf"|\b(?P<m2>{_MONTH_RE})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y2>\d{{4}}))?",
    re.I,
)
_NUMERIC_DATE = re.compile(  # not inside a name ("I-24/7")
    r"(?<![\w/-])\b(?P<d>\d{1,2})(?:/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?|\.(?P<mm>\d{1,2})\.(?P<yy>\d{4}))\b"
)
_ISO_DATE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_MONTH_YEAR = re.compile(rf"\b(?P<m>{_MONTH_RE})\s+(?P<y>\d{{4}})\b", re.I)
_IN_MONTH = re.compile(rf"\b(?:in|since|during|for)\s+(?P<m>{_MONTH_RE})(?!\s*\d)\b", re.I)
_FUTURE = re.compile(
    r"\b(?:next\s+(?:week|month|year|quarter|few\s+days|monday|tuesday|wednesday|thursday"
    r"|friday)|tomorrow|coming\s+(?:week|weeks|days|month)|upcoming|due\s+soon"
    r"|in\s+the\s+future|later\s+this\s+(?:week|month)|end\s+of\s+(?:the|this)\s+"
    r"(?:week|month))\b",
    re.I,
)
_DUE_BEFORE = re.compile(r"\b(?:due|deadline|will|expected|coming\s+up)\b[^.?!]{0,25}$", re.I)
_CALENDAR = [
    (
        "this_week",
        re.compile(r"\bsince\s+the\s+(?:start|beginning)\s+of\s+(?:the|this)\s+week\b", re.I),
    ),
    (
        "this_month",
        re.compile(r"\bsince\s+the\s+(?:start|beginning)\s+of\s+(?:the|this)\s+month\b", re.I),
    ),
    ("since_monday", re.compile(r"\bsince\s+(?:this\s+|last\s+)?mon(?:day)?\b", re.I)),
    ("last_week", re.compile(r"\b(?:last|previous|past)\s+week'?s?\b(?!\s+or)", re.I)),
    ("this_week", re.compile(r"\b(?:this|current)\s+week\b|\bso\s+far\s+this\s+week\b", re.I)),
    ("last_month", re.compile(r"\b(?:last|previous|past)\s+month'?s?\b", re.I)),
    ("this_month", re.compile(r"\b(?:this|current)\s+month\b", re.I)),
    ("today", re.compile(r"\b(?:today|tonight|this\s+morning|2day)\b", re.I)),
    ("yesterday", re.compile(r"\byesterday\b", re.I)),
    ("this_year", re.compile(r"\b(?:this|current)\s+year\b", re.I)),
    ("this_quarter", re.compile(r"\b(?:this|current)\s+quarter\b", re.I)),
    ("last_quarter", re.compile(r"\b(?:last|previous|past)\s+quarter\b", re.I)),
    ("last_year", re.compile(r"\blast\s+year\b", re.I)),
]


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _month_number(name: str) -> int:
    return next(i for i, m in enumerate(MONTHS, start=1) if m.startswith(name.lower()[:3]))


def _amount(raw: str | None) -> int:
    if not raw:
        return 1
    raw = raw.lower()
    return int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw, 1)


def _calendar(label: str, now: datetime, tz: ZoneInfo) -> Period:
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    end = now.astimezone(UTC)
    if label == "today":
        return Period(label=label, start=_utc(today, tz), end=end, words="today")
    if label == "yesterday":
        day = today - timedelta(days=1)
        return Period(label="custom", start=_utc(day, tz), end=_utc(today, tz), words="yesterday")
    if label in ("this_week", "since_monday"):
        words = "this week" if label == "this_week" else "since Monday"
        return Period(label=label, start=_utc(monday, tz), end=end, words=words)
    if label == "last_week":
        start = monday - timedelta(days=7)
        return Period(
            label=label,
            start=_utc(start, tz),
            end=_utc(monday, tz),
            words=f"last week (from Monday {start.day} {MONTHS[start.month - 1].title()})",
        )
    first = _month_start(today)
    if label == "this_month":
        return Period(label=label, start=_utc(first, tz), end=end, words="this month")
    if label == "last_month":
        previous = _month_start(first - timedelta(days=1))
        name = f"{MONTHS[previous.month - 1].title()} {previous.year}"
        return Period(
            label=label, start=_utc(previous, tz), end=_utc(first, tz), words=f"last month ({name})"
        )
    if label in ("this_quarter", "last_quarter"):
        quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        if label == "this_quarter":
            return Period(label="custom", start=_utc(quarter, tz), end=end, words="this quarter")
        back = quarter.year * 12 + quarter.month - 1 - 3  # months since year 0, 3 back
        previous = date(back // 12, back % 12 + 1, 1)
        return Period(
            label="custom", start=_utc(previous, tz), end=_utc(quarter, tz), words="last quarter"
        )
    jan = date(today.year, 1, 1)
    if label == "this_year":
        return Period(label="custom", start=_utc(jan, tz), end=end, words="this year")
    last_jan = date(today.year - 1, 1, 1)
    return Period(
        label="custom", start=_utc(last_jan, tz), end=_utc(jan, tz), words=f"in {today.year - 1}"
    )


def _span(days: int, now: datetime) -> Period:
    end = now.astimezone(UTC)
    label = _FIXED_SPANS.get(days, "custom")
    return Period(
        label=label, start=end - timedelta(days=days), end=end, words=f"in the last {days} days"
    )


def _since(day: date, now: datetime, tz: ZoneInfo, words: str) -> Period:
    start = _utc(day, tz)
    end = now.astimezone(UTC)
    if start > end:
        return Period(label="future", start=end, end=start + timedelta(days=1), words=words)
    return Period(label="custom", start=start, end=end, words=words)


def _date_of(day: int, month: int, year: int | None, today: date) -> date | None:
    try:
        when = date(year or today.year, month, day)
    except ValueError:
        return None
    return when


def _future(now: datetime, tz: ZoneInfo, words: str) -> Period:
    end = now.astimezone(UTC)
    return Period(label="future", start=end, end=end + timedelta(days=30), words=words)


def find_period(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[Period | None, str]:
    """The period ``text`` names, and the text without its words (for the rest of parsing)."""
    today = now.astimezone(tz).date()
    m = _FUTURE.search(text)
    if m:
        return _future(now, tz, m.group(0).lower()), _cut(text, m)
    m = _SINCE_WEEKDAY.search(text)
    if m and not m.group("day").lower().startswith("mon"):
        wd = next(i for i, d in enumerate(_WEEKDAYS) if d.startswith(m.group("day").lower()[:3]))
        back = (today.weekday() - wd) % 7 or 7
        day = today - timedelta(days=back)
        return _since(day, now, tz, f"since {_WEEKDAYS[wd].title()}"), _cut(text, m)
    for span_re in _SPANS:
        m = span_re.search(text)
        if m and _DUE_BEFORE.search(text[: m.start()]):
            return _future(now, tz, f"due {m.group(0).lower()}"), _cut(text, m)
        if m:
            days = _amount(m.group("n") if "n" in m.groupdict() else None)
            span = max(1, round(days * _UNIT_DAYS[m.group("unit").lower()]))
            return _span(span, now), _cut(text, m)
    for label, pattern in _CALENDAR:
        m = pattern.search(text)
        if m:
            return _calendar(label, now, tz), _cut(text, m)
    for pattern in (_ISO_DATE, _DAY_MONTH, _NUMERIC_DATE):
        m = pattern.search(text)
        if m is None:
            continue
        found = _explicit_date(m, today)
        if found is not None:
            return _since(found, now, tz, f"since {found.day} {MONTHS[found.month - 1].title()}"), (
                _cut(text, m)
            )
    m = _MONTH_YEAR.search(text)
    if m:  # "in January 2027": that calendar month (after this one: the future)
        first = date(int(m.group("y")), _month_number(m.group("m")), 1)
        name = f"{MONTHS[first.month - 1].title()} {first.year}"
        start = _utc(first, tz)
        if start > now.astimezone(UTC):
            end = _utc(_next_month(first), tz)
            return Period(label="future", start=start, end=end, words=f"in {name}"), _cut(text, m)
        end = min(_utc(_next_month(first), tz), now.astimezone(UTC))
        return Period(label="custom", start=start, end=end, words=f"in {name}"), _cut(text, m)
    m = _IN_MONTH.search(text)
    if m:
        month = _month_number(m.group("m"))
        year = today.year if month <= today.month else today.year - 1
        first = date(year, month, 1)
        name = f"{MONTHS[month - 1].title()} {year}"
        if m.group(0).lower().startswith("since"):
            return _since(first, now, tz, f"since {name}"), _cut(text, m)
        end = min(_utc(_next_month(first), tz), now.astimezone(UTC))
        period = Period(label="custom", start=_utc(first, tz), end=end, words=f"in {name}")
        return period, _cut(text, m)
    return None, text


def _explicit_date(m: re.Match[str], today: date) -> date | None:
    groups = m.groupdict()
    if groups.get("m2"):
        month, day, year = _month_number(groups["m2"]), int(groups["d2"]), groups.get("y2")
    elif groups.get("mm"):
        month, day, year = int(groups["mm"]), int(groups["d"]), groups.get("yy")
    elif groups["m"].isdigit():
        month, day, year = int(groups["m"]), int(groups["d"]), groups.get("y")
    else:
        month, day, year = _month_number(groups["m"]), int(groups["d"]), groups.get("y")
    if not 1 <= month <= 12:
        return None
    full_year = int(year) + (2000 if year and len(year) == 2 else 0) if year else None
    return _date_of(day, month, full_year, today)


_LEADING = re.compile(r"\b(?:since|from|on|by|before|until|till|after|as\s+of)\s*$", re.I)


def _cut(text: str, m: re.Match[str]) -> str:
    """``text`` without the match and the preposition just before it ("since 3 May")."""
    return f"{_LEADING.sub(' ', text[: m.start()])} {text[m.end() :]}"
