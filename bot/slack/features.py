"""The app's features, and the extension points through which they reach each other.

Like simonw/llm's ``hookspecs.py`` and ``plugins.py``: every feature — built-in or not — is
a :class:`Feature` that registers its listeners and may fill named extension points; the app
collects them in one place (:func:`bot.slack.app.build_app`) and no feature edits another's
state. The extension points:

``home_section``
    Blocks a feature adds to a user's App Home (progress: "Your initiatives").
``track``
    What "Track as initiative" on an /align result does (progress: open the new-initiative
    form, pre-filled). Without it the button says tracking is off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk.models.blocks import Block

from .deps import SlackDeps

# Blocks for a user's App Home: user id -> blocks.
HomeSection = Callable[[str], list[Block]]
# "Track as initiative" on an /align result: (body, alignment_id) -> None.
TrackHandler = Callable[[dict, int], None]


@dataclass(frozen=True)
class Feature:
    name: str
    register: Callable[[App, SlackDeps], None]
    home_section: Callable[[SlackDeps], HomeSection] | None = None
    track: Callable[[SlackDeps], TrackHandler] | None = None


@dataclass(frozen=True)
class Extensions:
    """What the features put in the extension points, in feature order."""

    home_sections: tuple[HomeSection, ...] = ()
    track: TrackHandler | None = None
    names: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, features: Sequence[Feature], deps: SlackDeps) -> Extensions:
        tracks = [f for f in features if f.track is not None]
        if len(tracks) > 1:
            raise ValueError(f"two features handle tracking: {[f.name for f in tracks]}")
        return cls(
            home_sections=tuple(
                f.home_section(deps) for f in features if f.home_section is not None
            ),
            track=tracks[0].track(deps) if tracks and tracks[0].track else None,
            names=tuple(f.name for f in features),
        )
