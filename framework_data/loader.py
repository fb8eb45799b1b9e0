"""Load a framework file (YAML or JSON), reporting every problem with its line and field.

``check_framework`` returns all problems found; ``load_framework`` raises them together.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from framework_data.schema import STATEMENT_IDS, Framework, Goal, Objective, Statements, Value

DEFAULT_FRAMEWORK_PATH: Path = Path(__file__).parent / "interpol_2017_2020.yaml"

_STR_TAG = "tag:yaml.org,2002:str"
_Found = tuple[int, str, str]  # (line, field path, message)
# The schema has no number, boolean or date fields, so such scalars are read as the text
# written in the file: `id: 1.10` becomes "1.10", not 1.1.
_AS_TEXT_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "timestamp")}

# Limits: a framework is a page or two of text with notes, not a data dump. A file over
# MAX_FILE_BYTES is refused before it is read whole; the others are checked on the parsed
# YAML, each reported with its line and field.
MAX_FILE_BYTES = 5_000_000
MAX_GOALS = 200
MAX_OBJECTIVES_PER_GOAL = 200
MAX_OBJECTIVES = 2_000
MAX_ITEMS = {  # list fields, by name
    "goals": MAX_GOALS,
    "objectives": MAX_OBJECTIVES_PER_GOAL,
    "keywords": 100,
    "values": 100,
    "aliases": 50,
}
MAX_CHARS = {  # text fields, by name (keywords, aliases and values: per item)
    "id": 64,
    "title": 500,
    "name": 500,
    "period": 100,
    "keywords": 200,
    "aliases": 200,
    "values": 500,
    "text": 5_000,
    "description": 5_000,
    "scope": 5_000,
    "vision": 5_000,
    "mission": 5_000,
}

_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Framework,
    ("statements",): Statements,
    ("statements", "values"): Value,
    ("goals",): Goal,
    ("goals", "objectives"): Objective,
}
_WHAT: dict[tuple[str, ...], str] = {
    ("id",): "the framework's short id, e.g. 'interpol-2017-2020'",
    ("title",): "the framework's title",
    ("period",): "the period it covers, e.g. '2017-2020'",
    ("statements",): "a mapping with vision, mission and/or values",
    ("statements", "vision"): "the vision statement",
    ("statements", "mission"): "the mission statement",
    ("statements", "values"): "values",
    ("statements", "values", "name"): "the value's name",
    ("goals",): "goals",
    ("goals", "id"): 'the goal\'s id, e.g. "1"',
    ("goals", "title"): "the goal's title",
    ("goals", "objectives"): "objectives",
    ("goals", "objectives", "id"): 'the objective\'s id, e.g. "1.3"',
    ("goals", "objectives", "text"): "the objective's wording",
}
_OPTIONAL = {  # optional fields, by name
    "scope": "a note on what it covers, or leave scope out",
    "description": "a description, or leave description out",
    "keywords": "keywords as non-empty text, or leave keywords out",
    "title": "a short title, or leave title out",
}
_ITEM: dict[tuple[str, ...], str] = {
    ("goals",): "a goal: a mapping with id, title and objectives",
    ("goals", "objectives"): "an objective: a mapping with id and text",
    ("statements", "values"): "a value: a name, or a mapping with name and description",
}


class FrameworkProblem(BaseModel):
    file: str
    line: int | None = None
    field: str = ""
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {field}{self.message}"


class FrameworkError(Exception):
    def __init__(self, problems: list[FrameworkProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _dotted(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _entry(node: Node, key: str) -> tuple[ScalarNode, Node] | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k, v
    return None


def _locate(root: Node, loc: tuple[Any, ...]) -> int:
    """Line of the deepest node on ``loc`` that exists (a mapping entry: its key's line)."""
    node, line = root, _line(root)
    for part in loc:
        if isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = _line(node)
        elif (entry := _entry(node, str(part))) is not None:
            line, node = _line(entry[0]), entry[1]
        else:
            break
    return line


def _prepare(node: Node, path: str, out: list[_Found], seen: set[int]) -> None:
    """Read number/bool/date scalars as written; report keys written twice in one mapping."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, ScalarNode) and node.tag in _AS_TEXT_TAGS:
        node.tag = _STR_TAG
    for i, item in enumerate(node.value if isinstance(node, SequenceNode) else []):
        _prepare(item, f"{path}[{i}]", out, seen)
    first: dict[str, int] = {}
    for k, v in node.value if isinstance(node, MappingNode) else []:
        _prepare(k, path, out, seen)
        key = str(k.value)
        sub = f"{path}.{key}" if path else key
        if key in first:
            msg = f"field '{key}' is written twice (first at line {first[key]}); keep only one"
            out.append((_line(k), sub, msg))
        first.setdefault(key, _line(k))
        _prepare(v, sub, out, seen)


def _id_problems(root: Node, out: list[_Found]) -> None:
    """Duplicate goal/objective ids and ids that clash with citation ids, at the repeat."""
    goals = _entry(root, "goals")
    if goals is None or not isinstance(goals[1], SequenceNode):
        return
    entries: list[tuple[str, str, ScalarNode]] = []  # (kind, path, id node)
    for gi, g in enumerate(goals[1].value):
        if (gid := _entry(g, "id")) and isinstance(gid[1], ScalarNode):
            entries.append(("goal", f"goals[{gi}].id", gid[1]))
        objs = _entry(g, "objectives")
        for oi, o in enumerate(objs[1].value if objs and isinstance(objs[1], SequenceNode) else []):
            if (oid := _entry(o, "id")) and isinstance(oid[1], ScalarNode):
                entries.append(("objective", f"goals[{gi}].objectives[{oi}].id", oid[1]))
    goal_cites = {f"g{n.value.strip().casefold()}" for k, _, n in entries if k == "goal"}
    seen: dict[tuple[str, str], int] = {}
    for kind, path, node in entries:
        ident = node.value.strip()
        key = (kind, ident.casefold())
        if key in seen:
            msg = f"{kind} id '{ident}' is used more than once (first at line {seen[key]})"
            out.append((_line(node), path, f"{msg}; each {kind} needs its own id"))
        elif kind == "objective" and key[1] in {*STATEMENT_IDS, *goal_cites}:
            msg = "clashes with the citation id of a goal or statement; choose another id"
            out.append((_line(node), path, f"objective id '{ident}' {msg}"))
        seen.setdefault(key, _line(node))


def _limit_problems(node: Node, path: str, out: list[_Found], seen: set[int]) -> None:
    """Lists longer and texts longer than the limits above, wherever their field stands."""
    if id(node) in seen or not isinstance(node, MappingNode):
        return
    seen.add(id(node))
    for k, v in node.value:
        key = str(k.value) if isinstance(k, ScalarNode) else ""
        sub = f"{path}.{key}" if path else key
        if isinstance(v, ScalarNode) and key in MAX_CHARS:
            _check_length(v, sub, MAX_CHARS[key], out)
        elif isinstance(v, SequenceNode):
            limit = MAX_ITEMS.get(key)
            if limit is not None and len(v.value) > limit:
                out.append(
                    (_line(k), sub, f"has {len(v.value):,} {key}; at most {limit:,} are allowed")
                )
            for i, item in enumerate(v.value[: limit or len(v.value)]):
                if isinstance(item, ScalarNode) and key in MAX_CHARS:
                    _check_length(item, f"{sub}[{i}]", MAX_CHARS[key], out)
                _limit_problems(item, f"{sub}[{i}]", out, seen)
        else:
            _limit_problems(v, sub, out, seen)
    if not path and (goals := _entry(node, "goals")) and isinstance(goals[1], SequenceNode):
        total = sum(
            len(objs[1].value)
            for g in goals[1].value
            if (objs := _entry(g, "objectives")) and isinstance(objs[1], SequenceNode)
        )
        if total > MAX_OBJECTIVES:
            out.append(
                (
                    _line(goals[0]),
                    "goals",
                    f"has {total:,} objectives in all; at most {MAX_OBJECTIVES:,} are allowed",
                )
            )


def _check_length(node: ScalarNode, path: str, limit: int, out: list[_Found]) -> None:
    if len(node.value) > limit:
        out.append(
            (
                _line(node),
                path,
                f"is {len(node.value):,} characters long; at most "
                f"{limit:,} are allowed: shorten it",
            )
        )


def _message(err: Any) -> str:
    loc: tuple[Any, ...] = err["loc"]
    shape = tuple(p for p in loc if isinstance(p, str))
    is_item = bool(loc) and isinstance(loc[-1], int)
    kind, key, given = err["type"], str(loc[-1]) if loc else "", err.get("input")
    what = _WHAT.get(shape) or _OPTIONAL.get(key, f"the {key}" if key else "this")
    if kind == "missing":
        return f"missing required field '{key}' ({what})"
    if kind == "extra_forbidden":
        model = _MODELS.get(shape[:-1])
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{key}'{hint}; allowed fields are: {', '.join(allowed)}"
    if kind in ("too_short", "tuple_type", "list_type") and shape[-1:] in (
        ("goals",),
        ("objectives",),
    ):
        return f"must be a non-empty list of {what}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list of {what if shape[-1:] != ('keywords',) else 'keywords'}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be {_ITEM.get(shape, what)}" if is_item else f"must be {what}"
    if kind == "string_type":
        if given is None:
            return f"is empty: give {what}"
        return "each keyword must be text" if is_item else f"must be text ({what})"
    if kind == "string_too_short" or (
        kind == "value_error" and "must not be empty" in str(err["ctx"]["error"])
    ):
        return f"must not be empty: give {what}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind == "invalid_key":
        return "every field name must be plain text (not empty, not a list)"
    return str(err["msg"])


def _read_text(path: Path, problem: Any) -> str | None:
    if not path.exists():
        problem(None, "", "file not found; give the path to a framework .yaml or .json file")
        return None
    try:
        with path.open("rb") as f:  # at most one byte past the limit is read
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        problem(None, "", f"cannot read the file ({e.strerror or e}); give a .yaml or .json file")
        return None
    if len(data) > MAX_FILE_BYTES:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        said = f"is {size / 1e6:,.1f} MB" if size > MAX_FILE_BYTES else "is too large"
        problem(
            None,
            "",
            f"the file {said}; a framework file may be at most "
            f"{MAX_FILE_BYTES / 1e6:g} MB: shorten its notes or split it",
        )
        return None
    bad = data.find(b"\x00")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = e.start if bad < 0 else min(bad, e.start)
        text = ""
    if bad >= 0:
        msg = "this is not a text file (binary data or not UTF-8); save it as UTF-8 YAML"
        problem(data[:bad].count(b"\n") + 1, "", msg)
        return None
    # Tabs are plain whitespace in JSON but not in YAML; valid JSON has none inside strings.
    return text.replace("\t", " ") if path.suffix.lower() == ".json" else text


def check_framework(path: Path | str) -> tuple[Framework | None, list[FrameworkProblem]]:
    """Parse and validate ``path``; return the framework (or None) and every problem found."""
    file = str(path)
    problems: list[FrameworkProblem] = []

    def problem(line: int | None, fld: str, msg: str) -> None:
        problems.append(FrameworkProblem(file=file, line=line, field=fld, message=msg))

    text = _read_text(Path(path), problem)
    if text is None:
        return None, problems
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if not isinstance(root, MappingNode):
            got = {SequenceNode: "a list", ScalarNode: "a single value"}.get(type(root), "")
            msg = "the top level must be a mapping with id, title and goals"
            problem(
                _line(root) if root is not None else None,
                "",
                f"{msg} (found {got})"
                if got
                else "the file is empty; a framework needs at least an id, title and goals",
            )
            return None, problems
        found: list[_Found] = []
        _prepare(root, "", found, set())
        data = loader.construct_document(root)
    except yaml.YAMLError as e:
        mark, start = getattr(e, "problem_mark", None), getattr(e, "context_mark", None)
        where = mark or start
        line = where.line + 1 if where else None
        detail = " ".join(str(getattr(e, a, "") or "") for a in ("context", "problem")).strip()
        if start and line != start.line + 1:
            detail += f" (it started at line {start.line + 1})"
        msg = f"not valid YAML: {detail}; check indentation, colons and quotes"
        if isinstance(e, yaml.reader.ReaderError):
            line = text[: e.position].count("\n") + 1
            msg = f"control character U+{e.character:04X} is not allowed; remove it"
        problem(line, "", msg)
        return None, problems

    _limit_problems(root, "", found, set())
    before = len(found)
    _id_problems(root, found)
    ids_reported = len(found) > before
    try:
        fw: Framework | None = Framework.model_validate(data)
    except ValidationError as exc:
        fw = None
        for err in exc.errors():
            if not err["loc"] and ids_reported:
                continue  # the schema's duplicate-id check; already reported with its line
            if err["type"] == "too_short" and err["input"]:
                continue  # "too short after validation": its failing items are reported
            found.append((_locate(root, err["loc"]), _dotted(err["loc"]), _message(err)))
    for line, fld, msg in sorted(found, key=lambda f: f[0]):
        problem(line, fld, msg)
    return (None if problems else fw), problems


def load_framework(path: Path | str | None = None) -> Framework:
    """Load and validate a framework (the packaged INTERPOL one when ``path`` is None)."""
    fw, problems = check_framework(DEFAULT_FRAMEWORK_PATH if path is None else path)
    if problems or fw is None:
        raise FrameworkError(problems)
    return fw


def _notes(item: Any, indent: str) -> list[str]:
    lines = [f"{indent}scope: {item.scope}"] if item.scope else []
    if item.keywords:
        lines.append(f"{indent}keywords: {', '.join(item.keywords)}")
    return lines


def render_framework(fw: Framework, *, notes: bool = False) -> str:
    """A plain-text outline of the framework, for ``fwbot framework show`` (``notes``: with
    the scope notes and keywords, ``--scope``)."""
    st = fw.statements
    lines = [fw.title] + ([f"Period: {fw.period}"] if fw.period else []) + [""]
    lines += [f"Vision: {st.vision}"] * bool(st.vision)
    lines += [f"Mission: {st.mission}"] * bool(st.mission)
    if any(v.description for v in st.values):
        lines += ["Values:"] + [
            f"  - {v.name}" + (f": {v.description}" if v.description else "") for v in st.values
        ]
    elif st.values:
        lines.append("Values: " + ", ".join(v.name for v in st.values))
    width = max(len(o.id) for _, o in fw.objectives())
    for g in fw.goals:
        lines += ["", f"Goal {g.id} — {g.title}"] + [f"  {g.description}"] * bool(g.description)
        lines += _notes(g, "  ") if notes else []
        for o in g.objectives:
            lines.append(f"  {o.id.ljust(width)}  {o.title + ': ' if o.title else ''}{o.text}")
            lines += _notes(o, "  " + " " * (width + 2)) if notes else []
    n_g, n_o = len(fw.goals), sum(1 for _ in fw.objectives())
    lines += ["", f"{n_g} goal{'s' * (n_g != 1)}, {n_o} objective{'s' * (n_o != 1)}"]
    return "\n".join(line for i, line in enumerate(lines) if line or lines[i - 1]) + "\n"
