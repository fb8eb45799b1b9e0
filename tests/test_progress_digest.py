"""The weekly progress digest: the numbers (bot.progress.digest), the channel message
(bot.slack.blocks.digest) and the chart (bot.progress.chart)."""

from __future__ import annotations

import dataclasses
import random
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import SDG_PATH

from bot.progress.chart import status_chart_png
from bot.progress.digest import DigestData, build_digest
from bot.slack.blocks import to_dicts
from bot.slack.blocks.base import block_text
from bot.slack.blocks.digest import digest_message, period_dates
from bot.storage.progress_records import (
    Cadence,
    InitiativeKind,
    InitiativeRecord,
    InitiativeStatus,
    UpdateRecord,
    UpdateStatus,
)
from framework_data.loader import load_framework
from framework_data.schema import Framework
from local_slack.limits import check_blocks, check_message

INTERPOL = load_framework(None)
SDG = load_framework(SDG_PATH)

SMALL = Framework.model_validate(
    {
        "id": "small",
        "title": "Small & <simple> framework",
        "goals": [
            {
                "id": "1",
                "title": "First goal",
                "objectives": [
                    {"id": "1.1", "text": "Objective one one"},
                    {"id": "1.2", "text": "Objective one two"},
                ],
            },
            {
                "id": "2",
                "title": "Second goal",
                "objectives": [
                    {"id": "2.1", "text": "Objective two one"},
                    {"id": "2.2", "text": "A long objective text " * 10, "title": "Short title"},
                ],
            },
            {
                "id": "3",
                "title": "Third goal",
                "objectives": [
                    {"id": "3.1", "text": "Objective three one, " + "with many words " * 10},
                ],
            },
        ],
    }
)

START = datetime(2026, 11, 23, tzinfo=UTC)  # Monday of 2026-W48
END = datetime(2026, 11, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DANGER = "Ping <!channel> & <@U123>"


def day(d: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, d, hour, tzinfo=UTC)


def initiative(
    id: int,
    objective_ids: tuple[str, ...],
    *,
    kind: InitiativeKind = "initiative",
    status: InitiativeStatus = "active",
    cadence: Cadence = "weekly",
    created_at: datetime = datetime(2026, 9, 1, tzinfo=UTC),
    last_update_at: datetime | None = None,
    last_status: UpdateStatus | None = None,
    title: str | None = None,
) -> InitiativeRecord:
    return InitiativeRecord(
        id=id,
        kind=kind,
        title=title or f"Initiative {id}",
        description="",
        owner_id=f"U{id:04d}",
        objective_ids=objective_ids,
        cadence=cadence,
        status=status,
        created_by="U0001",
        created_at=created_at,
        updated_at=created_at,
        last_update_at=last_update_at,
        last_status=last_status,
    )


def update(
    initiative_id: int, at: datetime, status: UpdateStatus = "on_track", id: int = 0
) -> UpdateRecord:
    return UpdateRecord(
        id=id,
        initiative_id=initiative_id,
        status=status,
        percent=None,
        note="",
        author_id="U0001",
        no_change=False,
        created_at=at,
    )


INITIATIVES = [
    # updated in the period: received
    initiative(1, ("1.1",), last_update_at=day(25), last_status="on_track", title=DANGER),
    # last update 10 Nov, weekly: due 17 Nov, overdue from 18 Nov; nothing this period
    initiative(2, ("1.2", "2.1"), last_update_at=day(10), last_status="at_risk"),
    # the lead's own stream, created recently: not due yet, never updated
    initiative(3, ("2.1",), kind="objective", created_at=day(27)),
    # closed: ignored everywhere (3.1 stays a gap)
    initiative(4, ("3.1",), status="closed", last_update_at=day(25), last_status="off_track"),
    # one unknown id (ignored), monthly, not due yet
    initiative(5, ("1.1", "zz.9"), cadence="monthly", last_update_at=day(20), last_status="done"),
    # only an unknown id: counts in no goal, but is due and overdue (due 8 Oct)
    initiative(6, ("ZZ",), created_at=day(1, month=10)),
    # the lead's own stream for 2.2, updated in the period: received, but no coverage for 2.2
    initiative(
        7,
        ("2.2",),
        kind="objective",
        cadence="fortnightly",
        last_update_at=day(28),
        last_status="off_track",
    ),
    # overdue at the period's end, answered late (after the period): still due, not received
    initiative(8, ("1.1",), last_update_at=day(30, 8), last_status="on_track"),
]
UPDATES = [
    update(1, day(24), "at_risk"),
    update(1, day(25), "on_track"),  # a second update counts once
    update(2, day(10), "at_risk"),
    update(4, day(25), "off_track"),  # closed initiative: ignored
    update(7, day(28), "off_track"),
    update(8, day(10)),
    update(8, day(30, 8)),  # late: after period_end
    update(999, day(25)),  # unknown initiative: ignored
]


def digest(
    initiatives: list[InitiativeRecord] = INITIATIVES,
    updates: list[UpdateRecord] = UPDATES,
    *,
    framework: Framework = SMALL,
    now: datetime = NOW,
) -> DigestData:
    return build_digest(
        framework,
        initiatives,
        updates,
        period="2026-W48",
        period_start=START,
        period_end=END,
        now=now,
    )


def counts(data: DigestData) -> dict[str, dict[str, int]]:
    return {g.goal_id: {k: v for k, v in g.counts.items() if v} for g in data.goals}


# ---- the numbers ---------------------------------------------------------------------------


def test_status_per_goal() -> None:
    data = digest()
    assert [g.goal_id for g in data.goals] == ["1", "2", "3"]
    assert counts(data) == {
        "1": {"on_track": 2, "at_risk": 1, "done": 1},  # 1, 8 / 2 / 5 (its unknown id ignored)
        "2": {"at_risk": 1, "no_update": 1, "off_track": 1},  # 2 (counted once) / 3 / 7
        "3": {},  # only a closed initiative
    }
    assert all(
        set(g.counts) == {"on_track", "at_risk", "off_track", "done", "no_update"}
        for g in data.goals
    )
    assert data.goals[1].title == "Second goal" and data.goals[0].total == 4


def test_participation() -> None:
    data = digest()
    assert data.received == 2  # 1 and 7 (updates of closed 4 and unknown 999 ignored)
    assert data.due == 5  # + 2, 6 and 8 (overdue at period end); 3 and 5 were not due
    assert data.participation == pytest.approx(0.4)


def test_overdue_oldest_first() -> None:
    data = digest()
    assert [o.initiative_id for o in data.overdue] == [6, 2]  # 8 answered late: not overdue
    six, two = data.overdue
    assert six.overdue_since == day(9, month=10) and six.days_overdue == 53
    assert two.overdue_since == day(18) and two.days_overdue == 13
    assert two.owner_id == "U0002" and two.objective_ids == ("1.2", "2.1")
    assert two.title == "Initiative 2"


def test_gaps_only_count_initiatives() -> None:
    data = digest()
    # 2.2 has only an objective-kind stream, 3.1 only a closed initiative
    assert [gid for gid, _ in data.gaps] == ["2.2", "3.1"]
    assert data.gaps[0][1] == "Short title"
    assert data.gaps[1][1].startswith("Objective three one") and data.gaps[1][1].endswith("…")
    assert len(data.gaps[1][1]) <= 80


def test_metadata_and_purity() -> None:
    data = digest()
    assert data.framework_title == SMALL.title and data.period == "2026-W48"
    assert (data.period_start, data.period_end, data.generated_at) == (START, END, NOW)
    assert data.late_updates == 0
    assert digest() == data  # a pure function of its inputs
    assert dataclasses.replace(data, late_updates=2).late_updates == 2


def test_nothing_due() -> None:
    fresh = [initiative(1, ("1.1",), created_at=day(27))]
    data = digest(fresh, [])
    assert (data.received, data.due, data.participation) == (0, 0, None)
    assert data.overdue == ()


def test_period_bounds() -> None:
    fresh = [initiative(i, ("1.1",), created_at=day(27)) for i in (1, 2)]
    data = digest(fresh, [update(1, START), update(2, END)])  # end is exclusive
    assert (data.received, data.due) == (1, 1)


def test_mid_period_render_judges_due_at_now() -> None:
    # Overdue from 26 Nov: not due when rendered on the 25th, due at the period's end.
    item = [initiative(1, ("1.1",), last_update_at=day(18))]
    assert (digest(item, [], now=day(25)).due, digest(item, [], now=NOW).due) == (0, 1)
    assert digest(item, [], now=day(25)).overdue == ()


def test_closed_and_unknown_only() -> None:
    data = digest(
        [
            initiative(1, ("1.1",), status="closed", created_at=day(1, month=10)),
            initiative(2, ("nope",), created_at=day(27)),
        ],
        [update(1, day(25))],
    )
    assert not data.has_initiatives
    assert (data.received, data.due, data.overdue) == (0, 0, ())
    assert [gid for gid, _ in data.gaps] == ["1.1", "1.2", "2.1", "2.2", "3.1"]


def test_bad_period() -> None:
    with pytest.raises(ValueError, match="period_end"):
        build_digest(SMALL, [], [], period="x", period_start=END, period_end=START, now=NOW)


# ---- big inputs ----------------------------------------------------------------------------

KINDS: list[InitiativeKind] = ["initiative", "objective"]
CADENCES: list[Cadence] = ["weekly", "fortnightly", "monthly"]
STATUSES: list[UpdateStatus] = ["on_track", "at_risk", "off_track", "done"]


def big_inputs(
    fw: Framework, n: int = 10_000, m: int = 50_000, seed: int = 7
) -> tuple[list[InitiativeRecord], list[UpdateRecord]]:
    rng = random.Random(seed)
    ids = [o.id for _, o in fw.objectives()]
    records = []
    for i in range(n):
        created = NOW - timedelta(days=rng.randint(1, 200))
        last = created + timedelta(
            hours=rng.randint(0, int((NOW - created).total_seconds() // 3600))
        )
        has_update = rng.random() < 0.8
        records.append(
            initiative(
                i,
                tuple(rng.sample(ids, rng.randint(1, 3))),
                created_at=created,
                kind=rng.choice(KINDS),
                cadence=rng.choice(CADENCES),
                status="active" if rng.random() < 0.9 else "closed",
                last_update_at=last if has_update else None,
                last_status=rng.choice(STATUSES) if has_update else None,
                title=f"{DANGER} " + "very long title " * 20,
            )
        )
    updates = [
        update(rng.randrange(n), NOW - timedelta(hours=rng.randint(0, 24 * 60)), id=j)
        for j in range(m)
    ]
    return records, updates


@pytest.fixture(scope="module")
def sdg_big() -> DigestData:
    records, updates = big_inputs(SDG)
    started = time.perf_counter()
    data = digest(records, updates, framework=SDG)
    assert time.perf_counter() - started < 1.0  # ~0.07 s; quadratic work would take minutes
    return data


def test_big_input_numbers(sdg_big: DigestData) -> None:
    assert len(sdg_big.goals) == 17
    assert 0 < sdg_big.received <= sdg_big.due <= 10_000
    assert len(sdg_big.overdue) > 15
    days = [o.overdue_since for o in sdg_big.overdue]
    assert days == sorted(days)


# ---- the message ---------------------------------------------------------------------------


def message_text(data: DigestData, refreshed_at: datetime | None = None) -> str:
    message = digest_message(data, refreshed_at=refreshed_at)
    blocks = to_dicts(message.blocks)  # slack_sdk's own validation
    assert check_blocks(blocks) is None
    assert check_message(message.payload()) is None
    return "\n".join(block_text(b) for b in message.blocks)


def test_message_content() -> None:
    data = digest()
    message = digest_message(data)
    assert block_text(message.blocks[0]) == "Weekly progress digest · 23–29 Nov 2026"
    text = message_text(data)
    assert "*Small &amp; &lt;simple&gt; framework* · week 2026-W48" in text
    assert (
        "*Goal 1* First goal — :large_green_circle: 2 on track · :large_yellow_circle: 1 at "
        "risk · :white_check_mark: 1 done"
    ) in text
    assert (
        "*Goal 2* Second goal — :large_yellow_circle: 1 at risk · :red_circle: 1 off track"
        " · :white_circle: 1 no update"
    ) in text
    assert "*Goal 3* Third goal — _no active initiatives_" in text
    assert "2 of 5 due updates received (40%)" in text
    assert "*Overdue (2)*" in text
    assert "• <@U0006> — Initiative 6 (ZZ) · overdue 53 days" in text
    assert "• <@U0002> — Initiative 2 (1.2, 2.1) · overdue 13 days" in text
    assert "*2.2* Short title" in text and "*3.1* Objective three one" in text
    assert "Generated Mon 30 Nov 09:00 UTC" in text and "Updated" not in text
    assert "2 of 5 due updates received (40%)" in message.text
    assert "2 overdue" in message.text and "2 objectives without an initiative" in message.text


def test_message_escapes_titles() -> None:
    late = [initiative(1, ("1.1",), created_at=day(1, month=10), title=DANGER)]
    text = message_text(digest(late, []))
    assert "Ping &lt;!channel&gt; &amp; &lt;@U123&gt;" in text
    assert "<!channel>" not in text and "<@U123>" not in text


def test_message_refreshed_note() -> None:
    data = dataclasses.replace(digest(), late_updates=2)
    refreshed = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    assert "Updated Mon 30 Nov 14:05 UTC after 2 late updates." in message_text(
        data, refreshed_at=refreshed
    )
    one = dataclasses.replace(data, late_updates=1)
    assert "after 1 late update." in message_text(one, refreshed_at=refreshed)


def test_message_nothing_due_and_nothing_overdue() -> None:
    text = message_text(
        digest(
            [
                initiative(i, (o.id,), created_at=day(27))
                for i, (_, o) in enumerate(SMALL.objectives())
            ],
            [],
        )
    )
    assert "No updates were due this week" in text
    assert "nothing is overdue" in text
    assert "every objective has at least one active initiative" in text


def test_percent_never_rounds_up_to_full() -> None:
    data = dataclasses.replace(digest(), received=199, due=200)
    assert "199 of 200 due updates received (99%)" in message_text(data)


@pytest.mark.parametrize(("n", "more"), [(15, None), (16, 1), (40, 25)])
def test_overdue_list_is_capped(n: int, more: int | None) -> None:
    late = [
        initiative(i, ("1.1",), created_at=day(1, month=10) + timedelta(hours=i)) for i in range(n)
    ]
    text = message_text(digest(late, []))
    assert text.count("· overdue ") == min(n, 15)
    if more is None:
        assert "more —" not in text
    else:
        assert f"…and {more} more — `/progress overdue` lists them all" in text


def test_gap_list_is_capped() -> None:
    data = digest([], [], framework=SDG)
    assert len(data.gaps) == 169
    text = message_text(data)
    assert "169 objectives without an active initiative" in text
    assert text.count("\n• *") == 20 and "…and 149 more" in text


def test_big_message_within_limits(sdg_big: DigestData) -> None:
    message = digest_message(
        dataclasses.replace(sdg_big, late_updates=3), refreshed_at=NOW + timedelta(hours=5)
    )
    blocks = to_dicts(message.blocks)
    assert check_blocks(blocks) is None and len(blocks) <= 50
    assert check_message(message.payload()) is None
    text = message_text(sdg_big)
    assert text.count("*Goal ") == 17
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "lists them all" in text


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "23–29 Nov 2026"),
        (
            datetime(2026, 11, 28, tzinfo=UTC),
            datetime(2026, 12, 5, tzinfo=UTC),
            "28 Nov – 4 Dec 2026",
        ),
        (
            datetime(2025, 12, 29, tzinfo=UTC),
            datetime(2026, 1, 5, tzinfo=UTC),
            "29 Dec 2025 – 4 Jan 2026",
        ),
    ],
)
def test_period_dates(start: datetime, end: datetime, shown: str) -> None:
    assert period_dates(start, end) == shown


# ---- the chart -----------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_chart_png(sdg_big: DigestData) -> None:
    small = status_chart_png(digest())
    width, height = png_size(small)
    assert (width, height) == (900, 300)
    assert 5_000 < len(small) < 300_000
    assert status_chart_png(digest()) == small  # deterministic: no date or version metadata
    assert b"tIME" not in small and b"Software" not in small

    big = status_chart_png(sdg_big)
    big_width, big_height = png_size(big)
    assert big_width == 900 and 700 < big_height < 1000  # taller with 17 goals
    assert len(big) < 500_000


def test_chart_without_initiatives() -> None:
    png = status_chart_png(digest([], [], framework=SDG))
    assert png_size(png) == (900, 300)
    assert png == status_chart_png(digest([], [], framework=SDG))


def test_chart_leaves_no_pyplot_state() -> None:
    from matplotlib._pylab_helpers import Gcf

    status_chart_png(digest())
    assert Gcf.get_num_fig_managers() == 0


def test_chart_shows_titles_literally() -> None:
    fw = Framework.model_validate(
        {
            "id": "m",
            "title": "m",
            "goals": [
                {
                    "id": "1",
                    "title": r"Raise $\frac{ and 100% of <x> & co",
                    "objectives": [{"id": "1.1", "text": "t"}],
                }
            ],
        }
    )
    png = status_chart_png(digest([initiative(1, ("1.1",))], [], framework=fw))
    assert png.startswith(PNG_SIGNATURE)
