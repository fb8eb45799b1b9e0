"""Loading framework files: the packaged INTERPOL framework, accepted variants, and
every kind of problem reported with its line number and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework_data.loader import (
    DEFAULT_FRAMEWORK_PATH,
    FrameworkError,
    FrameworkProblem,
    check_framework,
    load_framework,
    render_framework,
)
from framework_data.schema import Framework

FIXTURES = Path(__file__).parent / "fixtures" / "frameworks"


def problems_of(path: Path | str) -> list[tuple[int | None, str]]:
    fw, problems = check_framework(path)
    assert fw is None, "a file with problems must not produce a framework"
    assert problems, "expected at least one problem"
    assert all(p.file == str(path) for p in problems)
    return [(p.line, p.field) for p in problems]


def only_problem(path: Path | str) -> FrameworkProblem:
    fw, problems = check_framework(path)
    assert fw is None
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# ---- the packaged INTERPOL framework ----------------------------------------------------


def test_default_interpol_framework_loads() -> None:
    fw = load_framework()
    assert DEFAULT_FRAMEWORK_PATH.name == "interpol_2017_2020.yaml"
    assert DEFAULT_FRAMEWORK_PATH.is_file()
    assert fw.id == "interpol-2017-2020"
    assert fw.period == "2017-2020"
    assert len(fw.goals) == 5
    ids = [o.id for _, o in fw.objectives()]
    assert len(ids) == 21
    assert ids[0] == "1.1" and ids[-1] == "5.5"
    assert [len(g.objectives) for g in fw.goals] == [5, 4, 4, 3, 5]
    assert fw.statements.vision == "Connecting police for a safer world"
    assert fw.statements.mission is not None and fw.statements.mission.startswith("Preventing")
    assert [v.name for v in fw.statements.values] == [
        "Respect",
        "Integrity",
        "Excellence",
        "Teamwork",
        "Innovation",
    ]
    cites = fw.citation_ids()
    assert {"G1", "G2", "G3", "G4", "G5", "vision", "mission", "values"} <= cites
    assert set(ids) <= cites
    assert len(cites) == 21 + 5 + 3


def test_default_path_and_explicit_path_agree() -> None:
    assert load_framework(DEFAULT_FRAMEWORK_PATH) == load_framework(None)
    assert load_framework(str(DEFAULT_FRAMEWORK_PATH)) == load_framework()
    fw, problems = check_framework(DEFAULT_FRAMEWORK_PATH)
    assert problems == [] and isinstance(fw, Framework)


def test_content_hash_is_stable_and_tracks_content(tmp_path: Path) -> None:
    first, second = load_framework(), load_framework()
    assert first.content_hash() == second.content_hash()
    assert len(first.content_hash()) == 16

    original = DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8")
    old = "Strengthen internal delivery through change management"
    assert original.count(old) == 1
    changed = tmp_path / "changed.yaml"
    changed.write_text(original.replace(old, old + " and training"), encoding="utf-8")
    fw = load_framework(changed)
    assert fw.content_hash() != first.content_hash()
    obj = fw.objective("5.3")
    assert obj is not None and obj.text.endswith("and training")


def test_render_framework_outline() -> None:
    text = render_framework(load_framework())
    lines = text.splitlines()
    assert lines[0] == "INTERPOL Strategic Framework 2017-2020"
    assert "Period: 2017-2020" in lines
    assert "Vision: Connecting police for a safer world" in lines
    assert any(line.startswith("Mission: Preventing") for line in lines)
    assert "Values: Respect, Integrity, Excellence, Teamwork, Innovation" in lines
    assert (
        "Goal 1 — Serve as the worldwide information hub for law enforcement cooperation" in lines
    )
    assert "  1.1  Provide a secure infrastructure" in text
    assert "  5.5  Revitalize INTERPOL's governing bodies" in text
    assert sum(line.startswith("Goal ") for line in lines) == 5
    assert lines[-1] == "5 goals, 21 objectives"
    assert "\n\n\n" not in text


def test_render_minimal_framework_singular_counts() -> None:
    text = render_framework(load_framework(FIXTURES / "ok_minimal.yaml"))
    assert text.splitlines()[0] == "Tiny framework"
    assert "Vision" not in text and "Period" not in text
    assert "Goal 1 — Do one thing\n  1.1  Do it well" in text
    assert text.splitlines()[-1] == "1 goal, 1 objective"


# ---- accepted variants ------------------------------------------------------------------


def test_minimal_bare_framework_loads() -> None:
    fw = load_framework(FIXTURES / "ok_minimal.yaml")
    assert fw.id == "tiny"
    assert fw.period is None
    assert fw.statements.vision is None and fw.statements.values == ()
    assert [o.id for _, o in fw.objectives()] == ["1.1"]
    assert fw.citation_ids() == {"G1", "1.1"}


def test_letter_ids_and_optional_scope_keywords() -> None:
    fw = load_framework(FIXTURES / "ok_annotated.yaml")
    assert [o.id for _, o in fw.objectives()] == ["1.a", "14.c"]
    assert fw.goal("G14") is not None and fw.goal_of("14.c") == fw.goal("14")
    g1 = fw.goals[0]
    assert g1.scope == "Everything about the first goal"
    assert g1.keywords == ("first", "one")
    assert g1.description == "Why the first goal matters"
    o = fw.objective("1.a")
    assert o is not None
    assert (o.title, o.scope, o.keywords) == ("Letter one", "Only letters", ("letters", "alpha"))
    assert [(v.name, v.description) for v in fw.statements.values] == [
        ("Respect", None),
        ("Integrity", "We do what we say"),
    ]
    assert fw.period == "2021-2025"
    assert "  - Integrity: We do what we say" in render_framework(fw)


def test_unquoted_numeric_ids_keep_their_printed_form() -> None:
    fw = load_framework(FIXTURES / "ok_numeric_ids.yaml")
    assert fw.goals[0].id == "1"
    assert [o.id for _, o in fw.objectives()] == ["1.1", "1.2", "1.10"]
    tenth = fw.objective("1.10")
    assert tenth is not None and tenth.text == "Tenth"


def test_json_framework_loads() -> None:
    fw = load_framework(FIXTURES / "ok_minimal.json")
    assert fw.id == "tiny-json"
    assert fw.period == "2024"
    assert fw.goals[0].id == "1"
    assert [o.id for _, o in fw.objectives()] == ["1.10"]
    assert next(fw.objectives())[1].text == "Do it well / quickly"


# ---- file-level problems ----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    p = only_problem(path)
    assert (p.file, p.line, p.field) == (str(path), None, "")
    assert "not found" in p.message
    assert str(p) == f"{path}: {p.message}"
    with pytest.raises(FrameworkError) as info:
        load_framework(path)
    assert info.value.problems == [p]


def test_binary_file_with_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"id: x\ntitle: y\n\x00\x01\x02\xff\xfe")
    p = only_problem(path)
    assert (p.line, p.field) == (3, "")
    assert "not a text file" in p.message and "UTF-8" in p.message


def test_invalid_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: x\ntitle: Sécurité\n".encode("latin-1"))
    p = only_problem(path)
    assert (p.line, p.field) == (2, "")
    assert "UTF-8" in p.message


def test_empty_files(tmp_path: Path) -> None:
    zero = tmp_path / "zero.yaml"
    zero.write_text("", encoding="utf-8")
    for path in (zero, FIXTURES / "bad_empty.yaml"):
        p = only_problem(path)
        assert (p.line, p.field) == (None, "")
        assert "empty" in p.message


def test_yaml_syntax_error() -> None:
    path = FIXTURES / "bad_syntax.yaml"
    p = only_problem(path)
    assert (p.line, p.field) == (7, "")
    assert p.message.startswith("not valid YAML")
    assert "line 5" in p.message  # where the unclosed quote started


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = tmp_path / "indent.yaml"
    path.write_text('id: x\ntitle: y\ngoals:\n  - id: "1"\n    title: t\n   objectives: []\n')
    p = only_problem(path)
    assert (p.line, p.field) == (6, "")
    assert "indentation" in p.message


def test_top_level_is_a_list() -> None:
    p = only_problem(FIXTURES / "bad_top_list.yaml")
    assert (p.line, p.field) == (2, "")
    assert "top level must be a mapping" in p.message and "a list" in p.message


# ---- validation problems ----------------------------------------------------------------


def test_missing_objective_text() -> None:
    p = only_problem(FIXTURES / "bad_missing_text.yaml")
    assert (p.line, p.field) == (9, "goals[0].objectives[1].text")
    assert p.message == "missing required field 'text' (the objective's wording)"


def test_empty_objective_text() -> None:
    p = only_problem(FIXTURES / "bad_empty_text.yaml")
    assert (p.line, p.field) == (8, "goals[0].objectives[0].text")
    assert "must not be empty" in p.message and "objective's wording" in p.message


def test_unknown_field() -> None:
    path = FIXTURES / "bad_unknown_field.yaml"
    assert problems_of(path) == [(4, "goals[0].title"), (5, "goals[0].titel")]
    _, problems = check_framework(path)
    assert problems[0].message == "missing required field 'title' (the goal's title)"
    assert problems[1].message.startswith("unknown field 'titel' (did you mean 'title'?)")


def test_goal_with_no_objectives() -> None:
    p = only_problem(FIXTURES / "bad_no_objectives.yaml")
    assert (p.line, p.field) == (11, "goals[1].objectives")
    assert p.message == "must be a non-empty list of objectives"


def test_goal_with_null_objectives(tmp_path: Path) -> None:
    path = tmp_path / "null.yaml"
    path.write_text('id: x\ntitle: y\ngoals:\n  - id: "1"\n    title: t\n    objectives:\n')
    p = only_problem(path)
    assert (p.line, p.field) == (6, "goals[0].objectives")
    assert p.message == "must be a non-empty list of objectives"


def test_duplicate_objective_id_reports_second_occurrence() -> None:
    p = only_problem(FIXTURES / "bad_duplicate_id.yaml")
    assert (p.line, p.field) == (14, "goals[1].objectives[0].id")
    assert "'1.2'" in p.message and "more than once" in p.message and "line 9" in p.message


def test_duplicate_goal_id_and_citation_clash(tmp_path: Path) -> None:
    path = tmp_path / "clash.yaml"
    path.write_text(
        "id: x\ntitle: y\ngoals:\n"
        '  - id: "1"\n    title: a\n    objectives:\n      - {id: "G2", text: t}\n'
        '  - id: "2"\n    title: b\n    objectives:\n      - {id: "2.1", text: t}\n'
        '  - id: "1"\n    title: c\n    objectives:\n      - {id: "3.1", text: t}\n'
    )
    assert problems_of(path) == [(7, "goals[0].objectives[0].id"), (12, "goals[2].id")]


def test_bad_id_characters() -> None:
    p = only_problem(FIXTURES / "bad_id_chars.yaml")
    assert (p.line, p.field) == (7, "goals[0].objectives[0].id")
    assert "'1 / 1' is not a valid id" in p.message
    assert "letters, digits" in p.message


def test_several_problems_reported_together() -> None:
    path = FIXTURES / "bad_several.yaml"
    assert problems_of(path) == [
        (9, "goals[0].objectives[1].id"),  # duplicate "1.1", first at line 7
        (11, "goals[0].objectives[2].text"),  # missing text: the objective's line
        (12, "goals[1].title"),  # missing title: the goal's line
        (13, "goals[1].titel"),  # unknown field: its key's line
        (14, "goals[1].objectives"),  # empty list
        (16, "goals[2].title"),  # empty title
        (20, "goals[2].objectives[0].colour"),  # unknown field
    ]
    with pytest.raises(FrameworkError) as info:
        load_framework(path)
    assert len(info.value.problems) == 7


def test_duplicate_key_in_one_mapping(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(
        'id: x\ntitle: y\ngoals:\n  - id: "1"\n    title: a\n    title: b\n'
        '    objectives:\n      - {id: "1.1", text: t}\n'
    )
    p = only_problem(path)
    assert (p.line, p.field) == (6, "goals[0].title")
    assert "written twice" in p.message


def test_framework_error_lists_every_problem_with_file_and_line() -> None:
    path = FIXTURES / "bad_several.yaml"
    with pytest.raises(FrameworkError) as info:
        load_framework(path)
    text = str(info.value)
    lines = text.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith(f"{path}:9: goals[0].objectives[1].id: ")
    assert f"{path}:13: goals[1].titel: unknown field 'titel'" in text
    assert "bad_several.yaml" in text


def test_problem_str_format() -> None:
    p = FrameworkProblem(file="f.yaml", line=3, field="goals[0].id", message="bad")
    assert str(p) == "f.yaml:3: goals[0].id: bad"
    assert str(FrameworkProblem(file="f.yaml", line=None, field="", message="gone")) == (
        "f.yaml: gone"
    )


# ---- size limits ----------------------------------------------------------------------------


def test_an_oversized_file_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    import time
    import tracemalloc

    from framework_data.loader import MAX_FILE_BYTES

    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(800_000_000)  # sparse: 800 MB that take no disk
    tracemalloc.start()
    started = time.perf_counter()
    try:
        p = only_problem(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 3 * MAX_FILE_BYTES  # at most the limit (and a byte) was read
    assert (p.line, p.field) == (None, "")
    assert p.message == (
        "the file is 800.0 MB; a framework file may be at most 5 MB: shorten its notes or split it"
    )
    with pytest.raises(FrameworkError):
        load_framework(path)


@pytest.mark.slow  # parses a file of nearly the size limit
def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    from framework_data.loader import MAX_FILE_BYTES

    path = tmp_path / "padded.yaml"
    text = (FIXTURES / "ok_minimal.yaml").read_text(encoding="utf-8")
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n", encoding="utf-8")
    fw, problems = check_framework(path)
    assert problems == [] and fw is not None


def _goal(gid: int, objectives: int, **extra: object) -> dict:
    return {
        "id": str(gid),
        "title": f"Goal {gid}",
        **extra,
        "objectives": [
            {"id": f"{gid}.{n}", "text": f"Objective {gid}.{n}"} for n in range(1, objectives + 1)
        ],
    }


def _write_yaml(path: Path, data: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False, width=10**9), encoding="utf-8")
    return path


def test_counts_over_the_limits_are_reported_with_line_and_field(tmp_path: Path) -> None:
    from framework_data.loader import MAX_ITEMS

    goals = [
        _goal(1, 2, keywords=[f"kw{n}" for n in range(MAX_ITEMS["keywords"] + 1)]),
        _goal(2, MAX_ITEMS["objectives"] + 1),
    ]
    path = _write_yaml(tmp_path / "many.yaml", {"id": "x", "title": "X", "goals": goals})
    lines = path.read_text(encoding="utf-8").splitlines()
    fw, problems = check_framework(path)
    assert fw is None
    found = {(p.field, p.message) for p in problems}
    assert found == {
        ("goals[0].keywords", "has 101 keywords; at most 100 are allowed"),
        ("goals[1].objectives", "has 201 objectives; at most 200 are allowed"),
    }
    for p in problems:  # the line of the field's key
        key = p.field.rsplit(".", 1)[1]
        assert lines[p.line - 1].strip().lstrip("- ").startswith(f"{key}:"), (p, lines[p.line - 1])


def test_too_many_goals_and_objectives_in_all(tmp_path: Path) -> None:
    from framework_data.loader import MAX_GOALS, MAX_OBJECTIVES

    goals = [_goal(n, 10) for n in range(1, MAX_GOALS + 2)]
    path = _write_yaml(tmp_path / "goals.yaml", {"id": "x", "title": "X", "goals": goals})
    fw, problems = check_framework(path)
    assert fw is None
    assert [(p.line, p.field, p.message) for p in problems] == [
        (3, "goals", f"has {MAX_GOALS + 1} goals; at most {MAX_GOALS} are allowed"),
        (
            3,
            "goals",
            f"has {(MAX_GOALS + 1) * 10:,} objectives in all; at most "
            f"{MAX_OBJECTIVES:,} are allowed",
        ),
    ]


def test_texts_over_the_limits_are_reported_with_line_and_field(tmp_path: Path) -> None:
    from framework_data.loader import MAX_CHARS

    path = tmp_path / "long.yaml"
    path.write_text(
        "id: x\n"
        "title: X\n"
        "statements:\n"
        f"  vision: {'v' * (MAX_CHARS['vision'] + 1)}\n"
        "goals:\n"
        "  - id: '1'\n"
        "    title: Goal\n"
        f"    keywords: [fine, {'k' * 201}]\n"
        "    objectives:\n"
        "      - id: '1.1'\n"
        f"        text: {'word ' * 1001}\n"
        f"        scope: {'s' * 4999}\n",  # under the limit: fine
        encoding="utf-8",
    )
    fw, problems = check_framework(path)
    assert fw is None
    assert [str(p) for p in problems] == [
        f"{path}:4: statements.vision: is 5,001 characters long; at most 5,000 are allowed: "
        "shorten it",
        f"{path}:8: goals[0].keywords[1]: is 201 characters long; at most 200 are allowed: "
        "shorten it",
        f"{path}:11: goals[0].objectives[0].text: is 5,004 characters long; at most 5,000 are "
        "allowed: shorten it",
    ]
