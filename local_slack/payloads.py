"""Shapes of the events and interaction payloads Slack sends an app (pure: dicts in, dicts out).

:class:`PayloadShapes` is mixed into :class:`~local_slack.signed.SlackRequests`, which
supplies ``team_id``, ``team_domain``, ``api_app_id`` and ``verification_token``.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
SELECTED_OPTION_TYPES = frozenset({"static_select", "external_select", "overflow", "radio_buttons"})
SELECTED_OPTIONS_TYPES = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})


def now_ts() -> str:
    """The current time as a Slack ts (``"1700000000.123456"``)."""
    return f"{time.time():.6f}"


def new_trigger_id() -> str:
    """A random trigger_id in Slack's ``<digits>.<digits>.<hex>`` form."""
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to a user's message, ``<@U…>`` as user elements."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for match in _MENTION.finditer(text):
        if match.start() > pos:
            elements.append({"type": "text", "text": text[pos : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        pos = match.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [section]}]


class PayloadShapes:
    """Event and interaction payload builders; see the module docstring."""

    team_id: str
    team_domain: str
    api_app_id: str
    verification_token: str

    # ---- events (the ``event`` member of an event_callback) ----------------------------

    def _user_message(
        self, kind: str, text: str, user: str, channel: str, ts: str, thread_ts: str | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team_id,
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return event

    def app_mention_event(
        self, text: str, *, user: str, channel: str, ts: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """An ``app_mention`` event (``text`` as typed, e.g. ``"<@UBOT> align ..."``)."""
        event = self._user_message("app_mention", text, user, channel, ts, thread_ts)
        event.update(client_msg_id=str(uuid.uuid4()), blocks=rich_text_blocks(text))
        return event

    def message_im_event(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        ts: str,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
    ) -> dict[str, Any]:
        """A ``message`` event in a DM (``channel_type: im``)."""
        return self._message(text, user, channel, ts, thread_ts, bot_id, subtype, "im")

    def channel_message_event(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        ts: str,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
    ) -> dict[str, Any]:
        """A ``message`` event in a public channel (``channel_type: channel``)."""
        return self._message(text, user, channel, ts, thread_ts, bot_id, subtype, "channel")

    def _message(
        self,
        text: str,
        user: str,
        channel: str,
        ts: str,
        thread_ts: str | None,
        bot_id: str | None,
        subtype: str | None,
        channel_type: str,
    ) -> dict[str, Any]:
        event = self._user_message("message", text, user, channel, ts, thread_ts)
        if subtype is not None:
            event["subtype"] = subtype
        if bot_id is not None:
            event.update(bot_id=bot_id, app_id=self.api_app_id)
        else:
            event["client_msg_id"] = str(uuid.uuid4())
        event["blocks"] = rich_text_blocks(text)
        event["channel_type"] = channel_type
        return event

    def app_home_opened_event(
        self,
        user: str,
        tab: str = "home",
        *,
        channel: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An ``app_home_opened`` event; ``view`` is the published home view, if any."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": channel or "D" + user,
            "tab": tab,
            "event_ts": now_ts(),
        }
        if view is not None:
            event["view"] = view
        return event

    def assistant_thread_started_event(
        self, user: str, channel: str, thread_ts: str, *, context_channel: str | None = None
    ) -> dict[str, Any]:
        """An ``assistant_thread_started`` event; ``context`` names the channel the user was
        viewing (empty when none), as bolt's Assistant and get_thread_context read it."""
        context: dict[str, Any] = {}
        if context_channel is not None:
            context = {
                "channel_id": context_channel,
                "team_id": self.team_id,
                "enterprise_id": None,
            }
        return {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "context": context,
                "channel_id": channel,
                "thread_ts": thread_ts,
            },
            "event_ts": now_ts(),
        }

    def assistant_thread_context_changed_event(
        self, user: str, channel: str, thread_ts: str, *, context_channel: str
    ) -> dict[str, Any]:
        """An ``assistant_thread_context_changed`` event (the user switched channels)."""
        event = self.assistant_thread_started_event(
            user, channel, thread_ts, context_channel=context_channel
        )
        event["type"] = "assistant_thread_context_changed"
        return event

    # ---- interaction payloads ----------------------------------------------------------

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def _common(self, kind: str, user: str, trigger_id: str | None) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or new_trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def block_actions_payload(
        self,
        action_id: str,
        value: Any,
        *,
        user: str,
        channel: str | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
        message: dict[str, Any] | None = None,
        container_type: str = "message",
        block_id: str = "b1",
        action_type: str = "button",
        view: dict[str, Any] | None = None,
        text: str = "Button",
    ) -> dict[str, Any]:
        """A ``block_actions`` payload for one action. In a message: container ``message``
        with ``channel``, ``message`` and ``response_url``. With ``view`` (home tab or modal):
        container ``view``, the view, no channel or response_url."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": now_ts(),
        }
        option = {"text": {"type": "plain_text", "text": str(value)}, "value": value}
        if action_type == "button":
            action.update(text={"type": "plain_text", "text": text, "emoji": True}, value=value)
        elif action_type in SELECTED_OPTION_TYPES:
            action["selected_option"] = option
        elif action_type in SELECTED_OPTIONS_TYPES:
            action["selected_options"] = [option]
        elif action_type.startswith("multi_") and action_type.endswith("_select"):
            action["selected_" + action_type[6:-7]] = value  # multi_users_select: a list
        elif action_type.endswith("_select"):  # users_select -> selected_user, ...
            action["selected_" + action_type.removesuffix("_select").rstrip("s")] = value
        elif action_type == "datepicker":
            action["selected_date"] = value
        else:
            action["value"] = value
        payload = self._common("block_actions", user, trigger_id)
        if view is not None or container_type == "view":
            view = dict(view or {})
            view.setdefault("id", "V1")
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
        else:
            message = dict(
                message
                or {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "", "blocks": []}
            )
            message.setdefault("ts", now_ts())
            payload["container"] = {
                "type": container_type,
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {
                "id": channel,
                "name": "directmessage" if str(channel).startswith("D") else "general",
            }
            payload["message"] = message
            payload["response_url"] = response_url
        payload["state"] = {"values": {}}
        payload["actions"] = [action]
        return payload

    def view_submission_payload(
        self,
        callback_id: str,
        state_values: dict[str, Any],
        *,
        user: str,
        private_metadata: str = "",
        view_id: str = "V1",
        blocks: list[dict[str, Any]] | None = None,
        title: str = "Modal",
    ) -> dict[str, Any]:
        """A ``view_submission`` payload. ``state_values`` is ``{block_id: {action_id: state}}``;
        a plain string state becomes ``{"type": "plain_text_input", "value": ...}``."""
        values = {
            block: {
                action: {"type": "plain_text_input", "value": state}
                if isinstance(state, str) or state is None
                else state
                for action, state in actions.items()
            }
            for block, actions in state_values.items()
        }
        payload = self._common("view_submission", user, None)
        payload["view"] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": "BBOT",
        }
        payload["response_urls"] = []
        return payload

    def message_shortcut_payload(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str,
        channel: str,
        response_url: str,
        trigger_id: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A message shortcut (``type: message_action``) on ``message`` (needs its ``ts``).
        ``files``: Slack file objects shared with the message (e.g. from
        :meth:`FakeSlackAPI.add_file`), as a message with attachments carries them."""
        if files is not None:
            message = {**message, "files": list(files), "upload": True, "display_as_bot": False}
        payload = self._common("message_action", user, trigger_id)
        payload.update(
            action_ts=now_ts(),
            callback_id=callback_id,
            channel={"id": channel, "name": "general"},
            message_ts=message.get("ts"),
            message=message,
            response_url=response_url,
        )
        return payload
