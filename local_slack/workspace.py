"""State and Web API methods of the fake Slack workspace: auth, users and user groups, views,
assistant threads, file uploads and response URLs (messages live in
:mod:`local_slack.messages`)."""

from __future__ import annotations

import copy
import datetime as dt
import mimetypes
import secrets
import threading
import time
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from local_slack.files import files_info
from local_slack.limits import (
    MAX_SUGGESTED_PROMPTS,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_SECONDS,
    check_message,
    check_view,
)
from local_slack.messages import MessageStore, Params, Response, error
from local_slack.streams import Streams

TEAM_ID, TEAM_NAME, TEAM_DOMAIN = "T0001", "Test Team", "testteam"
BOT_USER_ID, BOT_ID, BOT_NAME, APP_ID = "UBOT", "BBOT", "fwbot", "A0001"


def tz_offset_of(tz: str) -> int:
    """The zone's current UTC offset in seconds (0 for an unknown zone)."""
    try:
        offset = dt.datetime.now(zoneinfo.ZoneInfo(tz)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


class Workspace:
    """Everything the fake remembers; :meth:`handle` answers one Web API call, locked."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.bot = {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "team_id": TEAM_ID}
        self.messages = MessageStore(self.bot, clock)
        self.root_url = ""  # "http://127.0.0.1:<port>", set when the server starts
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.unreachable: dict[str, str] = {}  # user id -> the error a DM to them answers
        self._counter = 0
        self.clear()
        self.add_user(BOT_USER_ID, is_bot=True, real_name=BOT_NAME, name=BOT_NAME)

    def clear(self) -> None:
        """Forgets messages and their streams, views, statuses, files and response URL uses
        (users, user groups and unreachable users stay)."""
        with self.lock:
            self.messages.channels.clear()
            self.messages.ephemeral.clear()
            self.views: dict[str, dict[str, Any]] = {}
            self.external_ids: dict[str, str] = {}
            self.home_views: dict[str, str] = {}
            self.assistant_threads: dict[tuple[str, str], dict[str, Any]] = {}
            self.files: dict[str, dict[str, Any]] = {}
            self.deleted_files: list[str] = []
            self.response_urls: dict[str, dict[str, Any]] = {}
            self.streams = Streams(self.messages)

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id: ``V00000001``, ``F00000002``..."""
        with self.lock:
            self._counter += 1
            return f"{prefix}{self._counter:08X}"

    # ---- users -------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "Europe/Paris",
        tz_offset: int | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Adds (or replaces) a user that users.info returns."""
        real = real_name or f"User {user_id}"
        offset = tz_offset if tz_offset is not None else tz_offset_of(tz)
        try:
            label = dt.datetime.now(zoneinfo.ZoneInfo(tz)).tzname() or tz
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            label = tz
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name or user_id.lower(),
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "profile": {"real_name": real, "display_name": name or "", "team": TEAM_ID},
        }
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID if user_id == BOT_USER_ID else "B" + user_id
        with self.lock:
            self.users[user_id] = user
        return copy.deepcopy(user)

    def recipient_error(self, user_id: str) -> str | None:
        """The error a DM to this user answers: the one set by ``make_unreachable``, else
        ``account_inactive`` for a deleted user; None if reachable (or never added)."""
        with self.lock:
            if user_id in self.unreachable:
                return self.unreachable[user_id]
            user = self.users.get(user_id)
            return "account_inactive" if user is not None and user["deleted"] else None

    def _unreachable(self, method: str, p: Params) -> str | None:
        """The recipient error for a chat.postMessage to a user id or a conversations.open
        with users, else None."""
        if method == "chat.postMessage":
            channel = str(p.get("channel") or "")
            return self.recipient_error(channel) if channel[:1] in ("U", "W") else None
        if method == "conversations.open" and not p.get("channel"):
            for user_id in str(p.get("users") or "").split(","):
                problem = self.recipient_error(user_id.strip())
                if problem:
                    return problem
        return None

    # ---- dispatch ----------------------------------------------------------------------

    def handle(self, method: str, params: Params) -> Response:
        """The JSON body Slack would answer ``method`` with (``unknown_method`` if absent)."""
        m = self.messages
        table: dict[str, Callable[[Params], Response]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": m.post_message,
            "chat.postEphemeral": m.post_ephemeral,
            "chat.update": m.update,
            "chat.delete": m.delete,
            "chat.startStream": self.streams.start,
            "chat.appendStream": self.streams.append,
            "chat.stopStream": self.streams.stop,
            "conversations.open": m.open,
            "conversations.history": m.history,
            "conversations.replies": m.replies,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroup_users,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
            "assistant.threads.setStatus": self._assistant("status"),
            "assistant.threads.setSuggestedPrompts": self._assistant("prompts"),
            "assistant.threads.setTitle": self._assistant("title"),
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.delete": self._delete_file,
            "files.info": lambda p: files_info(self, p),
        }
        handler = table.get(method)
        if handler is None:
            return error("unknown_method")
        with self.lock:
            problem = self._unreachable(method, params)
            return error(problem) if problem else handler(params)

    def _auth_test(self, p: Params) -> Response:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, p: Params) -> Response:
        user = self.users.get(str(p.get("user") or ""))
        if user is None:
            return error("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _usergroup_users(self, p: Params) -> Response:
        group = str(p.get("usergroup") or "")
        if not group:
            return error("invalid_arguments")
        if group not in self.usergroups:
            return error("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    # ---- views -------------------------------------------------------------------------

    def _store_view(self, view: Mapping[str, Any], view_id: str, **extra: Any) -> Response:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type"),
            "title": view.get("title"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            **extra,
        }
        self.views[view_id] = stored
        if stored["external_id"]:
            self.external_ids[stored["external_id"]] = view_id
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_open(self, p: Params) -> Response:
        trigger = str(p.get("trigger_id") or "")
        if not trigger:
            return error("invalid_arguments")
        if trigger.startswith("expired"):
            return error("expired_trigger_id")
        violation = check_view(p.get("view"))
        if violation:
            return error(violation.error, violation)
        return self._store_view(p["view"], self.new_id("V"))

    def _views_publish(self, p: Params) -> Response:
        user_id = str(p.get("user_id") or "")
        view = p.get("view")
        if not user_id or not isinstance(view, Mapping) or view.get("type") != "home":
            return error("invalid_arguments")
        violation = check_view(view)
        if violation:
            return error(violation.error, violation)
        view_id = self.home_views.get(user_id) or self.new_id("V")
        current = self.views.get(view_id)
        if p.get("hash") and current is not None and p["hash"] != current["hash"]:
            return error("hash_conflict")
        self.home_views[user_id] = view_id
        return self._store_view(view, view_id)

    def _views_update(self, p: Params) -> Response:
        view_id = p.get("view_id") or self.external_ids.get(str(p.get("external_id") or ""))
        if not p.get("view_id") and not p.get("external_id"):
            return error("invalid_arguments")
        current = self.views.get(str(view_id or ""))
        if current is None:
            return error("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            return error("hash_conflict")
        violation = check_view(p.get("view"))
        if violation:
            return error(violation.error, violation)
        keep = {k: current[k] for k in ("previous_view_id", "root_view_id")}
        return self._store_view(p["view"], current["id"], **keep)

    # ---- assistant threads -------------------------------------------------------------

    def _assistant(self, key: str) -> Callable[[Params], Response]:
        def handler(p: Params) -> Response:
            channel, thread_ts = p.get("channel_id"), p.get("thread_ts")
            value = p.get(key)
            if not channel or not thread_ts or value is None:
                return error("invalid_arguments")
            if key == "prompts" and (
                not isinstance(value, list) or not 0 < len(value) <= MAX_SUGGESTED_PROMPTS
            ):
                return error("invalid_arguments")
            state = self.assistant_threads.setdefault((str(channel), str(thread_ts)), {})
            state[key] = copy.deepcopy(value)
            return {"ok": True}

        return handler

    # ---- files -------------------------------------------------------------------------

    def _upload_url(self, p: Params) -> Response:
        filename, length = p.get("filename"), p.get("length")
        if not filename or length in (None, ""):
            return error("invalid_arguments")
        file_id = self.new_id("F")
        self.files[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "length": int(length),
            "alt_txt": p.get("alt_txt"),
            "snippet_type": p.get("snippet_type"),
            "content": None,
            "shares": [],
        }
        return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """POST to an upload URL: (status, text body) as files.slack.com answers."""
        with self.lock:
            record = self.files.get(file_id)
            if record is None:
                return 404, "file_not_found"
            record["content"] = data
            return 200, f"OK - {len(data)}"

    def _complete_upload(self, p: Params) -> Response:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return error("invalid_arguments")
        records = []
        for item in files:
            record = self.files.get(str(item.get("id") if isinstance(item, Mapping) else ""))
            if record is None or record["content"] is None:
                return error("file_not_found")
            record["title"] = item.get("title") or record["title"]
            records.append(record)
        channels = [c for c in str(p.get("channels") or "").split(",") if c]
        if p.get("channel_id"):
            channels.insert(0, str(p["channel_id"]))
        out = []
        for record in records:
            mimetype = mimetypes.guess_type(record["name"])[0] or "application/octet-stream"
            out.append(
                {
                    "id": record["id"],
                    "name": record["name"],
                    "title": record["title"],
                    "mimetype": mimetype,
                    "size": len(record["content"]),
                    "user": BOT_USER_ID,
                }
            )
        for channel in channels:
            share = {
                "channel": channel,
                "thread_ts": p.get("thread_ts"),
                "initial_comment": p.get("initial_comment"),
            }
            for record in records:
                record["shares"].append(share)
            message = {
                "text": p.get("initial_comment") or "",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "upload": True,
                "files": copy.deepcopy(out),
            }
            if p.get("thread_ts"):
                message["thread_ts"] = p["thread_ts"]
            self.messages.add(channel, message)
        return {"ok": True, "files": out}

    def _delete_file(self, p: Params) -> Response:
        file_id = str(p.get("file") or "")
        if self.files.pop(file_id, None) is None:
            return error("file_not_found")
        self.deleted_files.append(file_id)
        for messages in self.messages.channels.values():  # shares become tombstones
            for message in messages:
                for shared in message.get("files", []):
                    if shared.get("id") == file_id:
                        shared.clear()
                        shared.update({"id": file_id, "mode": "tombstone"})
        return {"ok": True}

    # ---- response URLs -----------------------------------------------------------------

    def issue_response_url(self, token: str) -> None:
        """Registers a response URL token, starting its 30-minute lifetime."""
        with self.lock:
            self.response_urls.setdefault(token, {"issued": time.monotonic(), "uses": 0})

    def expire_response_url(self, token: str) -> None:
        """Makes every further use of this response URL fail with ``used_url``."""
        with self.lock:
            self.issue_response_url(token)
            self.response_urls[token]["expired"] = True

    def respond(self, token: str, body: Mapping[str, Any]) -> tuple[int, Response]:
        """A post to a response URL: (HTTP status, JSON body). Five uses in 30 minutes."""
        with self.lock:
            state = self.response_urls.setdefault(token, {"issued": time.monotonic(), "uses": 0})
            too_old = time.monotonic() - state["issued"] > RESPONSE_URL_TTL_SECONDS
            if state.get("expired") or too_old or state["uses"] >= RESPONSE_URL_MAX_USES:
                return 404, error("used_url")
            if not flag_true(body.get("delete_original")):
                violation = check_message(body)
                if violation:
                    return 400, error(violation.error, violation)
            state["uses"] += 1
            return 200, {"ok": True}


def flag_true(value: Any) -> bool:
    """JSON ``true`` (or ``"true"``)."""
    return value is True or str(value).lower() == "true"
