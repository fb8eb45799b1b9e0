"""App Home: the framework at a glance, my recent alignments, and feature sections."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from ...slack_api.views import publish_home as publish_home_view
from ..blocks import RecentAlignment, home_view
from ..deps import SlackDeps
from ..features import Feature
from ..guard import reporting_failures

RECENT = 5


def publish_home(deps: SlackDeps, client: WebClient, user: str) -> None:
    recent = [
        RecentAlignment(
            text=r.text,
            ids=list(r.final_ids if r.final_ids is not None else r.suggested_ids),
            status=r.status,
            created_at=r.created_at,
        )
        for r in deps.alignments.recent(user, limit=RECENT)
    ]
    sections = deps.extensions.home_sections if deps.extensions else ()
    extra = [blocks for section in sections if (blocks := section(user))]
    publish_home_view(
        client,
        user,
        home_view(deps.framework, user_id=user, recent=recent, extra_sections=extra),
    )


def register(app: App, deps: SlackDeps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        with reporting_failures("app_home_opened", deps.metrics, None):
            publish_home(deps, client, event["user"])


FEATURE = Feature("home", register)
