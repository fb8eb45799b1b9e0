"""Modals and the App Home: ``views.open``, ``views.update`` and ``views.publish``."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View


def error_of(exc: SlackApiError) -> str:
    """Slack's ``error`` in a refused call ("unknown" if it gave none)."""
    return str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"


def open_view(client: WebClient, trigger_id: str | None, view: dict[str, Any] | View) -> bool:
    """``views.open``; False when Slack says the trigger expired (the user clicks again).
    Other errors raise."""
    try:
        client.views_open(trigger_id=trigger_id or "", view=view)
        return True
    except SlackApiError as exc:
        if error_of(exc) != "expired_trigger_id":
            raise
        return False


def update_view(
    client: WebClient, view_id: str | None, view_hash: str | None, view: dict[str, Any] | View
) -> bool:
    """``views.update`` of the open modal ``view_id``, only if it is still ``view_hash``;
    False when it changed meanwhile (``hash_conflict``: a newer change won). Other errors
    raise."""
    try:
        client.views_update(view_id=view_id, hash=view_hash, view=view)
        return True
    except SlackApiError as exc:
        if error_of(exc) != "hash_conflict":
            raise
        return False


def publish_home(client: WebClient, user: str, view: dict[str, Any] | View) -> None:
    """``views.publish``: ``user``'s App Home tab."""
    client.views_publish(user_id=user, view=view)
