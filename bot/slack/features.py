"""The app's features, and the extension points through which they reach each other.

Every feature — built-in or a plug-in — is a :class:`Feature` that registers its listeners and
may fill named extension points; the app collects them in one place
(:func:`bot.slack.app.build_app`) and no feature edits another's state. A plug-in is found as
simonw/llm finds its plug-ins, through a packaging entry point: a package that declares

    [project.entry-points."fwbot.features"]
    notes = "fwbot_notes:FEATURE"

(a :class:`Feature`, or a function of no arguments returning one) is registered after the
built-in features by `fwbot serve` once it is installed beside fwbot. The extension points:

``home_section``
    Blocks a feature adds to a user's App Home (progress: "Your initiatives").
``track``
    What "Track as initiative" on an /align result does (progress: open the new-initiative
    form, pre-filled). Without it the button says tracking is off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from slack_bolt import App
from slack_sdk.models.blocks import Block

from .deps import SlackDeps

ENTRY_POINT_GROUP = "fwbot.features"

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


class PluginError(RuntimeError):
    """An installed plug-in that cannot be used: one line naming it and why."""


def installed_features() -> list[Feature]:
    """The features installed packages declare in the ``fwbot.features`` entry-point group,
    by entry-point name."""
    found: list[Feature] = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        where = f"the plug-in {point.name!r} ({point.value}, entry point {ENTRY_POINT_GROUP})"
        try:
            loaded = point.load()
            feature = loaded() if callable(loaded) and not isinstance(loaded, Feature) else loaded
        except Exception as exc:
            raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}") from exc
        if not isinstance(feature, Feature):
            raise PluginError(f"{where} is {type(feature).__name__!r}, not a Feature")
        found.append(feature)
    return found
