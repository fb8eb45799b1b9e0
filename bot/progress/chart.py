"""The digest's chart: one horizontal stacked bar per goal, segments by status, as PNG bytes.

matplotlib is imported inside :func:`status_chart_png` (importing it costs about half a
second) and used without pyplot: each call builds its own ``Figure`` on an Agg canvas, so no
global figure state is left behind and nothing needs closing. The PNG carries no software or
date metadata, so equal data gives equal bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..storage.vocabulary import UpdateStatus
from .digest import DIGEST_STATUS_LABELS, DIGEST_STATUSES, NO_UPDATE, DigestData, shorten_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch

# Each status's own colour (Okabe–Ito, see UpdateStatus), grey for "no update".
STATUS_COLOURS: dict[str, str] = {
    **{s.value: s.colour for s in UpdateStatus},
    NO_UPDATE: "#BBBBBB",
}
WIDTH_IN = 9.0
DPI = 100
BAR_HEIGHT_IN = 0.42  # per goal
FRAME_HEIGHT_IN = 1.6  # title, axis and legend
MIN_HEIGHT_IN = 3.0
LABEL_CHARS = 38  # goal label: "Goal 14 · " plus the title shortened to this
EMPTY_TEXT = "No active initiatives"


def goal_label(goal_id: str, title: str) -> str:
    """The y-axis label of one goal: "Goal 3 · Short title…"."""
    return f"Goal {goal_id} · {shorten_text(title, LABEL_CHARS)}"


def chart_title(data: DigestData) -> str:
    return f"Initiative status by goal · {data.period}"


def status_chart_png(data: DigestData) -> bytes:
    """The status of every goal's active initiatives as a PNG (900 px wide, taller with more
    goals); "No active initiatives" when every count is zero."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    empty = not data.has_initiatives
    height = MIN_HEIGHT_IN if empty else FRAME_HEIGHT_IN + BAR_HEIGHT_IN * len(data.goals)
    fig = Figure(figsize=(WIDTH_IN, max(MIN_HEIGHT_IN, height)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(chart_title(data), fontsize=13, fontweight="bold", parse_math=False)
    ax = fig.add_subplot()

    if empty:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            EMPTY_TEXT,
            ha="center",
            va="center",
            fontsize=14,
            color="#555555",
            transform=ax.transAxes,
            parse_math=False,
        )
    else:
        _draw_bars(ax, data)
        fig.legend(
            handles=[_patch(STATUS_COLOURS[s], DIGEST_STATUS_LABELS[s]) for s in DIGEST_STATUSES],
            loc="outside lower center",
            ncols=len(DIGEST_STATUSES),
            frameon=False,
            fontsize=9,
        )

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _patch(colour: str, label: str) -> Patch:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, label=label)


def _draw_bars(ax: Axes, data: DigestData) -> None:
    positions = list(range(len(data.goals)))
    totals = [g.total for g in data.goals]
    widest = max(totals)
    left = [0] * len(data.goals)
    for status in DIGEST_STATUSES:
        values = [g.counts.get(status, 0) for g in data.goals]
        ax.barh(
            positions,
            values,
            left=left,
            height=0.7,
            color=STATUS_COLOURS[status],
            edgecolor="white",
            linewidth=0.6,
        )
        for y, (start, value) in enumerate(zip(left, values, strict=True)):
            if value and value >= widest * 0.06:  # room for the number inside the segment
                ax.text(
                    start + value / 2,
                    y,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if status != "no_update" else "#333333",
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(
        positions,
        labels=[goal_label(g.goal_id, g.title) for g in data.goals],
        fontsize=9,
        parse_math=False,
    )
    ax.invert_yaxis()  # goal 1 on top
    ax.set_xlim(0, widest * 1.02)
    ax.set_xlabel("Active initiatives (one linked to several goals counts under each)", fontsize=9)
    from matplotlib.ticker import MaxNLocator  # imported late, like the rest of matplotlib

    # matplotlib's default (AutoLocator) steps, whole numbers only
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#E5E5E5", linewidth=0.6)
    ax.set_axisbelow(True)
