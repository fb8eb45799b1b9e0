"""The Slack app without Slack: the real bolt app, its listeners and storage, driven by signed
events and commands in process, with the local fake Web API catching what it sends.

``fwbot console --slack`` uses it so that the same handlers that serve Slack answer in the
terminal; messages are rendered from their Block Kit as plain text, mentions as ``@name``
(local_slack/people.py), and the buttons of the last reply can be pressed (``/press 2`` or
``/press Helpful``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .forms import BadAnswer, fields
from .people import USER, add_people, from_slack, to_slack, who_is_here
from .signed import SlackRequests, to_bolt_request
from .web_api import FakeSlackAPI

if TYPE_CHECKING:
    from bot.wiring.composition import Services

TOKEN = "xoxb-local-console"
CHANNEL, DM = "CLOCAL", "DLOCAL"
# what the app may answer with: a reply in the conversation, a private one, an edit, a form
REPLIES = frozenset(
    {"response_url", "chat.postEphemeral", "chat.postMessage", "chat.update", "views.open"}
)
REPLY_SECONDS = 60.0
FORM_REPLY_SECONDS = 10.0  # a submitted form may be answered by closing it, and nothing more


_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")


def _plain(mrkdwn: str) -> str:
    mrkdwn = _DATE_TOKEN.sub(r"\1", mrkdwn)  # Slack date tokens show their fallback
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks(blocks: list[dict[str, Any]], fallback: str = "") -> str:
    """Block Kit as terminal text: sections and context lines, buttons as ``[Label]``."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            if text := (block.get("text") or {}).get("text"):
                lines.append(_plain(text))
            lines += [_plain(f.get("text", "")) for f in block.get("fields") or []]
        elif kind == "context":
            lines += [
                "  " + _plain(e.get("text", "")) for e in block.get("elements", []) if e.get("text")
            ]
        elif kind == "actions":
            lines.append(
                "  ".join(
                    f"[{e.get('text', {}).get('text', '?')}]" for e in block.get("elements", [])
                )
            )
        elif kind == "divider":
            lines.append("—" * 20)
    return "\n".join(lines) if lines else _plain(fallback)


class LocalSlack:
    """One local user talking to the bot: ``ask`` is a DM, ``align`` is ``/align``,
    ``progress`` is ``/progress``, ``press`` clicks a button of the last reply."""

    def __init__(self, services: Services) -> None:
        from bot.wiring.composition import Services

        secret = secrets.token_hex(16)
        self.api = FakeSlackAPI(tokens=(TOKEN,)).start()
        add_people(self.api)
        slack = services.settings.slack.replace(
            bot_token=TOKEN,
            signing_secret=secret,
            api_url=self.api.base_url,
            app_token=None,
            trust_local_slack=True,  # replies and files come from this fake
        )
        admins = services.settings.progress.admin_user_ids
        progress = services.settings.progress.replace(  # the person at the keyboard is an admin
            admin_user_ids=",".join(filter(None, (admins, USER)))
        )
        settings = services.settings.model_copy(update={"slack": slack, "progress": progress})
        self.services = Services(settings, framework_path=services.framework_path)
        self.services.__dict__["assistant"] = services.assistant  # one model in memory
        self.app = self.services.slack_app(bot_user_id="UBOT")
        self.requests = SlackRequests(secret)
        # A run is a conversation of its own: a DM channel of its own, so that a new run never
        # borrows the topic of the last one (DM questions within minutes are follow-ups).
        self.dm = f"{DM}{secrets.token_hex(4).upper()}"
        self._n = 0
        self.buttons: list[Button] = []  # of the last reply, in the order shown
        # set by the console: the next typed line (None at the end of input), and a line out
        self.prompt: Callable[[], str | None] | None = None
        self.say: Callable[[str], None] = lambda line: None

    def close(self) -> None:
        self.services.work_pool.shutdown(wait=True)
        self.api.stop()

    def _ts(self) -> str:
        self._n += 1
        return f"1700000000.{self._n:06d}"

    def users(self) -> str:
        return who_is_here()

    def _typed(self, text: str) -> tuple[str, str]:
        """``text`` with local @names as mentions, and a note naming those nobody here has."""
        text, unknown = to_slack(text)
        if not unknown:
            return text, ""
        names = ", ".join(f"@{n}" for n in dict.fromkeys(unknown))
        return text, f"\n(Nobody called {names} is here. {who_is_here()})"

    def _show(self, params: dict[str, Any], channel: str, ts: str | None) -> str:
        """A message the app sent, as text; its buttons become the ones ``press`` knows."""
        blocks = params.get("blocks") or []
        message = {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "ts": ts or self._ts(),
            "text": params.get("text", ""),
            "blocks": blocks,
        }
        buttons = [
            Button(
                label=(e.get("text") or {}).get("text", "?"),
                action_id=e.get("action_id", ""),
                value=e.get("value", ""),
                block_id=block.get("block_id", ""),
                channel=channel,
                message=message,
            )
            for block in blocks
            if block.get("type") == "actions"
            for e in block.get("elements", [])
            if e.get("type") == "button"
        ]
        if buttons:
            self.buttons = buttons
        text = from_slack(render_blocks(blocks, params.get("text", "")))
        if buttons:
            listed = ", ".join(f"{n} {b.label}" for n, b in enumerate(buttons, start=1))
            text += f"\n  (/press a number or a label: {listed})"
        return text

    def ask(self, text: str) -> str:
        text, note = self._typed(text)
        ts = self._ts()
        seen = len(self.api.calls("chat.postMessage"))
        event = self.requests.message_im_event(text, user=USER, channel=self.dm, ts=ts)
        self.app.dispatch(to_bolt_request(self.requests.event(event)))
        calls = self.api.wait_for("chat.postMessage", count=seen + 1, timeout=REPLY_SECONDS)
        return (
            "\n".join(self._show(c.params, DM, (c.response or {}).get("ts")) for c in calls[seen:])
            + note
        )

    def _fill(self, view: dict[str, Any], view_id: str, channel: str) -> str:
        """A form the app opened: asked field by field through :attr:`prompt`, then submitted
        as Slack would; the app's answer (or the errors it found, asked again)."""
        title = (view.get("title") or {}).get("text", "a form")
        asked = fields(view)
        if self.prompt is None or not asked:
            return f"(In Slack this opens the form “{title}”; the console cannot fill it in here.)"
        self.say(f"Form “{title}”: one field at a time; Enter keeps what is there, /cancel stops.")
        state: dict[str, dict[str, Any]] = {}
        todo = asked
        for _ in range(3):  # the app may refuse fields: those are asked again
            for item in todo:
                while True:
                    self.say(item.question())
                    typed = self.prompt()
                    if typed is not None and typed.strip().lower() == "/cancel":
                        return "(Form cancelled: nothing was sent.)"
                    try:
                        state[item.block_id] = {item.action_id: item.state(typed)}
                        break
                    except BadAnswer as exc:
                        if typed is None:  # input ended
                            return f"(Form not sent: {exc}.)"
                        self.say(f"  {exc}; try again.")
            seen = len(self.api.calls())
            payload = self.requests.view_submission_payload(
                str(view.get("callback_id") or ""),
                state,
                user=USER,
                private_metadata=str(view.get("private_metadata") or ""),
                view_id=view_id,
                blocks=view.get("blocks") or [],
                title=title,
            )
            ack = self.app.dispatch(to_bolt_request(self.requests.interaction(payload)))
            errors = _form_errors(ack)
            if not errors:
                return self._answer(ack, seen, channel, wait=FORM_REPLY_SECONDS, quiet="(Sent.)")
            for message in errors.values():
                self.say(f"  {from_slack(str(message))}")
            todo = [item for item in asked if item.block_id in errors] or asked
        return "(Form not sent: the app still refused it.)"

    def _answer(
        self,
        ack: Any,
        seen: int,
        channel: str,
        *,
        wait: float = REPLY_SECONDS,
        quiet: str = "(No answer from the app.)",
        response_url: str | None = None,
    ) -> str:
        """The app's answer: in the ack itself, or the first reply it sent after call ``seen``
        (a form it opened is named, not shown). With ``response_url`` (the request's own), a
        reply is one to that URL or a message in ``channel``: not a late answer to an earlier
        request, nor a DM the request made the app send to someone else."""
        token = response_url.rsplit("/", 1)[-1] if response_url else None
        if ack.body:
            import json

            body = json.loads(ack.body)
            if "response_action" not in body:  # a form's "close" or "clear" is no message
                return self._show(body, channel, None)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for call in self.api.calls()[seen:]:
                if call.method not in REPLIES:
                    continue
                if token is not None and not _answers(call, token, channel):
                    continue
                if call.method == "views.open":
                    view_id = str(((call.response or {}).get("view") or {}).get("id") or "V1")
                    return self._fill(call.params.get("view") or {}, view_id, channel)
                ts = (call.response or {}).get("ts") or call.params.get("ts")
                return self._show(call.params, str(call.params.get("channel") or channel), ts)
            time.sleep(0.02)
        return quiet

    def progress(self, text: str) -> str:
        """``/progress …``: what the app answered (a form it opened is named, not shown)."""
        text, note = self._typed(text)
        url = self.api.response_url()
        seen = len(self.api.calls())
        req = self.requests.slash_command(
            "/progress", text, user_id=USER, channel_id=CHANNEL, response_url=url
        )
        ack = self.app.dispatch(to_bolt_request(req))
        return self._answer(ack, seen, CHANNEL, response_url=url) + note

    def press(self, which: str) -> str:
        """Click a button of the last reply: by its number, or its label (any case)."""
        which = which.strip()
        if not self.buttons:
            return "(No buttons to press: the last reply had none.)"
        found = (
            self.buttons[int(which) - 1]
            if which.isdigit() and 1 <= int(which) <= len(self.buttons)
            else next((b for b in self.buttons if b.label.casefold() == which.casefold()), None)
        )
        if found is None:
            listed = ", ".join(f"{n} {b.label}" for n, b in enumerate(self.buttons, start=1))
            return f"(No button {which!r}; press one of: {listed}.)"
        seen = len(self.api.calls())
        payload = self.requests.block_actions_payload(
            found.action_id,
            found.value,
            user=USER,
            channel=found.channel,
            response_url=self.api.response_url(),
            message=found.message,
            block_id=found.block_id,
            text=found.label,
        )
        ack = self.app.dispatch(to_bolt_request(self.requests.interaction(payload)))
        return self._answer(ack, seen, found.channel)

    def align(self, text: str) -> str:
        text, note = self._typed(text)
        url = self.api.response_url()
        token = url.rsplit("/", 1)[-1]
        req = self.requests.slash_command(
            "/align", text, user_id=USER, channel_id=CHANNEL, response_url=url
        )
        ack = self.app.dispatch(to_bolt_request(req))
        if ack.body:  # answered in the ack itself (usage help)
            import json

            return self._show(json.loads(ack.body), CHANNEL, None) + note
        (call, *_) = self.api.wait_for(
            "response_url", timeout=REPLY_SECONDS, where=lambda c: c.params.get("_token") == token
        )
        return self._show(call.params, CHANNEL, None) + note


def _answers(call: Any, token: str, channel: str) -> bool:
    """Whether ``call`` can be the answer to the request whose response URL is ``token``'s."""
    if call.method == "response_url":
        return bool(call.params.get("_token") == token)
    if call.method in ("chat.postMessage", "chat.postEphemeral"):
        return bool(call.params.get("channel") == channel)
    return True


def _form_errors(ack: Any) -> dict[str, Any]:
    """The fields the app refused (``response_action: errors`` in the ack), by block id."""
    if not ack.body:
        return {}
    import json

    try:
        body = json.loads(ack.body)
    except ValueError:
        return {}
    if not isinstance(body, dict) or body.get("response_action") != "errors":
        return {}
    return dict(body.get("errors") or {})


@dataclass
class Button:
    """A button of a reply: what a click on it sends."""

    label: str
    action_id: str
    value: str
    block_id: str
    channel: str
    message: dict[str, Any]
