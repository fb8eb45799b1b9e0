"""What the Slack listeners need, wired once by the composition root (:mod:`bot.services`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.models.blocks import Block

from framework_data.schema import Framework

from ..alignments import AlignmentService
from ..questions import QuestionService
from ..storage.store import Store
from .delivery import Delivery
from .metrics import Metrics

# Adds App Home sections for a user (the progress-tracking feature registers one).
HomeSection = Callable[[str], list[Block]]
# Handles "Track as initiative" on an /align result: (body, alignment_id) -> None.
TrackHandler = Callable[[dict, int], None]


@dataclass
class SlackDeps:
    framework: Framework
    questions: QuestionService
    alignments: AlignmentService
    store: Store
    delivery: Delivery
    metrics: Metrics
    home_sections: list[HomeSection] = field(default_factory=list)
    on_track: TrackHandler | None = None
