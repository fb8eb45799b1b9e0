"""What the Slack listeners need, wired once by the composition root (:mod:`bot.services`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from slack_sdk.models.blocks import Block

from framework_data.schema import Framework

from ..alignments import AlignmentService
from ..progress.service import ProgressService
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
    # Progress tracking (/progress, nudges' buttons, the App Home section); None: off.
    progress: ProgressService | None = None
    # Post-ack work runs here: a pool as small as the machine's cores, apart from bolt's
    # listener pool, so acks never queue behind answers being computed. None: run inline.
    work: Executor | None = None

    def later(self, job: Callable[[], object]) -> None:
        """Run ``job`` (which reports its own failures to the user) after the ack."""
        if self.work is None:
            job()
            return
        self.work.submit(_logged, job)


def _logged(job: Callable[[], object]) -> None:
    try:
        job()
    except Exception:  # reporting_failures inside the job tells the user; this is a backstop
        logging.getLogger("fwbot.slack").exception("post-ack work failed")
