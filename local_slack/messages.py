"""Per-channel message history of the fake Slack workspace: the chat.* and conversations.*
methods. Not thread-safe on its own; :class:`~local_slack.workspace.Workspace` locks."""

from __future__ import annotations

import base64
import copy
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from local_slack.limits import Violation, check_message

Params = Mapping[str, Any]
Response = dict[str, Any]

MESSAGE_FIELDS = ("text", "blocks", "attachments", "metadata")


def error(name: str, violation: Violation | None = None) -> Response:
    """Slack's ``ok: false`` body; a violation adds ``errors`` and ``response_metadata``."""
    body: Response = {"ok": False, "error": name}
    if violation is not None:
        body["errors"] = [violation.message]
        body["response_metadata"] = {"messages": [violation.metadata_message()]}
    return body


def flag(value: Any) -> bool:
    """A boolean param as JSON (``true``) or form (``1`` / ``true``) sends it."""
    return value is True or (isinstance(value, int | str) and str(value).lower() in ("1", "true"))


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _from_cursor(cursor: Any) -> float | None:
    if not isinstance(cursor, str) or not cursor:
        return None
    try:
        return float(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return None


def dm_channel(channel: str) -> str:
    """Posting to a user id posts in the app's DM with them: ``D`` + the user id."""
    return "D" + channel if channel[:1] in ("U", "W") else channel


class MessageStore:
    """Messages by channel, with Slack's ts generation and thread bookkeeping."""

    def __init__(self, bot: Mapping[str, str], clock: Callable[[], float] = time.time) -> None:
        self.bot = dict(bot)  # user_id, bot_id, app_id, team_id
        self._clock = clock
        self._last_us = 0
        self.channels: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []

    def next_ts(self) -> str:
        """A unique, increasing message ts (``"1700000000.000101"``) from the clock."""
        us = max(int(self._clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def find(self, channel: str, ts: Any) -> dict[str, Any] | None:
        """The stored message (top level or reply) with this ts."""
        return next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)

    def add(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """Stores a message (``ts`` generated if missing) and updates its thread's parent."""
        message.setdefault("type", "message")
        message.setdefault("ts", self.next_ts())
        parent_ts = message.get("thread_ts")
        parent = self.find(channel, parent_ts) if parent_ts and parent_ts != message["ts"] else None
        if parent is not None:
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]
            users = parent.setdefault("reply_users", [])
            if message.get("user") and message["user"] not in users:
                users.append(message["user"])
            parent["reply_users_count"] = len(users)
            if parent.get("user"):
                message.setdefault("parent_user_id", parent["user"])
        self.channels[channel].append(message)
        return message

    def _bot_message(self, params: Params, ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text") or "",
            "user": self.bot["user_id"],
            "bot_id": self.bot["bot_id"],
            "app_id": self.bot["app_id"],
            "team": self.bot["team_id"],
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if params.get(key) is not None:
                message[key] = copy.deepcopy(params[key])
        if message.get("thread_ts") and flag(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        return message

    # ---- chat.* ------------------------------------------------------------------------

    def post_message(self, p: Params) -> Response:
        channel = dm_channel(str(p.get("channel") or ""))
        if not channel:
            return error("channel_not_found")
        violation = check_message(p)
        if violation:
            return error(violation.error, violation)
        message = self.add(channel, self._bot_message(p, self.next_ts()))
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "message": copy.deepcopy(message),
        }

    def post_ephemeral(self, p: Params) -> Response:
        channel = dm_channel(str(p.get("channel") or ""))
        if not channel:
            return error("channel_not_found")
        if not p.get("user"):
            return error("user_not_in_channel")
        violation = check_message(p)
        if violation:
            return error(violation.error, violation)
        message = self._bot_message(p, self.next_ts())
        self.ephemeral.append({**message, "channel": channel, "to_user": p["user"]})
        return {"ok": True, "message_ts": message["ts"]}

    def update(self, p: Params) -> Response:
        channel = str(p.get("channel") or "")
        message = self.find(channel, p.get("ts"))
        if message is None:
            return error("message_not_found")
        violation = check_message(p)
        if violation:
            return error(violation.error, violation)
        for key in MESSAGE_FIELDS:
            if p.get(key) is not None:
                message[key] = copy.deepcopy(p[key])
        message["edited"] = {"user": self.bot["user_id"], "ts": self.next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def delete(self, p: Params) -> Response:
        channel = str(p.get("channel") or "")
        message = self.find(channel, p.get("ts"))
        if message is None:
            return error("message_not_found")
        self.channels[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    # ---- conversations.* ---------------------------------------------------------------

    def open(self, p: Params) -> Response:
        if p.get("channel"):
            return {"ok": True, "channel": {"id": p["channel"]}, "already_open": True}
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            return error("users_list_not_supplied")
        return {"ok": True, "channel": {"id": "D" + users[0]}, "no_op": False}

    @staticmethod
    def _window(p: Params, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        inclusive = flag(p.get("inclusive"))
        oldest = float(p["oldest"]) if p.get("oldest") not in (None, "") else None
        latest = float(p["latest"]) if p.get("latest") not in (None, "") else None

        def inside(message: Mapping[str, Any]) -> bool:
            ts = float(message["ts"])
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                return False
            return latest is None or ts < latest or (ts == latest and inclusive)

        return [m for m in messages if inside(m)]

    @staticmethod
    def _shown(message: Mapping[str, Any], with_metadata: bool) -> dict[str, Any]:
        shown = copy.deepcopy(dict(message))
        if not with_metadata:
            shown.pop("metadata", None)
        return shown

    def history(self, p: Params) -> Response:
        channel = str(p.get("channel") or "")
        if not channel:
            return error("channel_not_found")
        top = [
            m
            for m in self.channels.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        found = sorted(self._window(p, top), key=lambda m: float(m["ts"]), reverse=True)
        before = _from_cursor(p.get("cursor"))
        if before is not None:
            found = [m for m in found if float(m["ts"]) < before]
        limit = max(1, min(_int(p.get("limit"), 100), 999))
        page, more = found[:limit], len(found) > limit
        meta = flag(p.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._shown(m, meta) for m in page],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": _cursor(page[-1]["ts"]) if more else ""},
        }

    def replies(self, p: Params) -> Response:
        channel, ts = str(p.get("channel") or ""), p.get("ts")
        if not channel or not ts:
            return error("invalid_arguments")
        messages = self.channels.get(channel, [])
        parent = self.find(channel, ts)
        thread = [m for m in messages if m.get("thread_ts") == ts and m["ts"] != ts]
        if parent is None and not thread:
            return error("thread_not_found")
        thread = sorted(self._window(p, thread), key=lambda m: float(m["ts"]))
        after = _from_cursor(p.get("cursor"))
        if after is not None:
            thread = [m for m in thread if float(m["ts"]) > after]
        found = ([parent] if parent is not None and after is None else []) + thread
        limit = max(1, min(_int(p.get("limit"), 1000), 1000))
        page, more = found[:limit], len(found) > limit
        meta = flag(p.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._shown(m, meta) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": _cursor(page[-1]["ts"]) if more else ""},
        }
