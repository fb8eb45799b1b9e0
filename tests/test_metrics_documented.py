"""Every metric ``/metrics`` exposes has a row in deploy/README.md's metrics table (what it
means, when to alert). Read from the exposition, not from a list kept here: a metric added
anywhere must be documented. The served exposition is checked too, in
tests/test_json_logs.py."""

from __future__ import annotations

import re

from bot.slack.metrics import Metrics
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "deploy" / "README.md"
HEADING = "### Metrics"


def exposed(exposition: str) -> set[str]:
    """The metric names of a Prometheus text exposition, as its ``# HELP`` lines say them
    (``fwbot_slack_requests_total``, ``fwbot_work_seconds``), without a counter's or a
    histogram's ``_created`` twin (the time it was created: the README says so once)."""
    names = set(re.findall(r"^# HELP (\S+) ", exposition, re.M))
    return {
        n for n in names if not (n.endswith("_created") and {n[:-8], n[:-8] + "_total"} & names)
    }


def documented() -> set[str]:
    """The names in the first column of the table under :data:`HEADING`."""
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, f"{README} has no {HEADING!r} section"
    names: set[str] = set()
    started = False
    for line in text.split(HEADING, 1)[1].splitlines():
        if line.startswith("|"):
            started = True
            names.update(re.findall(r"`(fwbot_\w+)`", line.split("|")[1]))
        elif started:
            break
    return names


def test_every_metric_is_documented() -> None:
    names = exposed(Metrics().exposition().decode())
    assert len(names) >= 10  # the exposition was read
    missing = names - documented()
    assert not missing, f"document these in {README.name}'s {HEADING} table: {sorted(missing)}"


def test_the_table_names_no_metric_that_does_not_exist() -> None:
    stale = documented() - exposed(Metrics().exposition().decode())
    assert not stale, f"{README.name}'s {HEADING} table names metrics that are gone: {stale}"


def test_a_new_metric_without_a_row_fails_the_check() -> None:
    from prometheus_client import Gauge

    metrics = Metrics()
    Gauge("fwbot_something_new", "A metric nobody documented.", registry=metrics.registry)
    missing = exposed(metrics.exposition().decode()) - documented()
    assert missing == {"fwbot_something_new"}
