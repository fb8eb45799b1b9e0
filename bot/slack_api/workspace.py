"""Who is who in the workspace: the token's own identity (``auth.test``), a user's profile
(``users.info``) and a user group's members (``usergroups.users.list``). Slack's errors
propagate as :class:`slack_sdk.errors.SlackApiError`."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient


def auth_test(client: WebClient) -> dict[str, Any]:
    """``auth.test``: the token's ``user_id``, ``bot_id``, ``team_id``…"""
    data = client.auth_test().data
    return dict(data) if isinstance(data, dict) else {}


def user_info(client: WebClient, user: str) -> dict[str, Any]:
    """``users.info``: the user's profile (``tz``, ``deleted``…); {} if Slack gave none."""
    return dict(client.users_info(user=user).get("user") or {})


def usergroup_members(client: WebClient, group: str) -> list[str]:
    """``usergroups.users.list``: the user ids in ``group``."""
    return list(client.usergroups_users_list(usergroup=group)["users"])
