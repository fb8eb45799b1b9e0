"""The Slack app without Slack: the real bolt app, its listeners and storage, driven by signed
events and commands in process, with the local fake Web API catching what it sends.

``fwbot console --slack`` uses it so that the same handlers that serve Slack answer in the
terminal; messages are rendered from their Block Kit as plain text.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from .signed import SlackRequests, to_bolt_request
from .web_api import FakeSlackAPI

if TYPE_CHECKING:
    from bot.wiring.composition import Services

TOKEN = "xoxb-local-console"
USER, CHANNEL, DM = "ULOCAL", "CLOCAL", "DLOCAL"
REPLY_SECONDS = 60.0


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
    """One local user talking to the bot: ``ask`` is a DM, ``align`` is ``/align``."""

    def __init__(self, services: Services) -> None:
        from bot.wiring.composition import Services

        secret = secrets.token_hex(16)
        self.api = FakeSlackAPI(tokens=(TOKEN,)).start()
        slack = services.settings.slack.replace(
            bot_token=TOKEN,
            signing_secret=secret,
            api_url=self.api.base_url,
            app_token=None,
            trust_local_slack=True,  # replies and files come from this fake
        )
        settings = services.settings.model_copy(update={"slack": slack})
        self.services = Services(settings, framework_path=services.framework_path)
        self.services.__dict__["assistant"] = services.assistant  # one model in memory
        self.app = self.services.slack_app(bot_user_id="UBOT")
        self.requests = SlackRequests(secret)
        # A run is a conversation of its own: a DM channel of its own, so that a new run never
        # borrows the topic of the last one (DM questions within minutes are follow-ups).
        self.dm = f"{DM}{secrets.token_hex(4).upper()}"
        self._n = 0

    def close(self) -> None:
        self.services.work_pool.shutdown(wait=True)
        self.api.stop()

    def _ts(self) -> str:
        self._n += 1
        return f"1700000000.{self._n:06d}"

    def ask(self, text: str) -> str:
        ts = self._ts()
        seen = len(self.api.calls("chat.postMessage"))
        event = self.requests.message_im_event(text, user=USER, channel=self.dm, ts=ts)
        self.app.dispatch(to_bolt_request(self.requests.event(event)))
        calls = self.api.wait_for("chat.postMessage", count=seen + 1, timeout=REPLY_SECONDS)
        return "\n".join(
            render_blocks(c.params.get("blocks") or [], c.params.get("text", ""))
            for c in calls[seen:]
        )

    def progress(self, text: str) -> str:
        """``/progress …``: what the app answered (a form it opened is named, not shown)."""
        url = self.api.response_url()
        seen = len(self.api.calls())
        req = self.requests.slash_command(
            "/progress", text, user_id=USER, channel_id=CHANNEL, response_url=url
        )
        ack = self.app.dispatch(to_bolt_request(req))
        if ack.body:
            import json

            body = json.loads(ack.body)
            return render_blocks(body.get("blocks") or [], body.get("text", ""))
        replies = {"response_url", "chat.postEphemeral", "chat.postMessage", "views.open"}
        deadline = time.monotonic() + REPLY_SECONDS
        while time.monotonic() < deadline:
            for call in self.api.calls()[seen:]:
                if call.method not in replies:
                    continue
                if call.method == "views.open":
                    view = call.params.get("view") or {}
                    title = (view.get("title") or {}).get("text", "a form")
                    return (
                        f"(In Slack this opens the form “{title}”; the console cannot "
                        "fill in forms. `/progress help` lists the text commands.)"
                    )
                return render_blocks(call.params.get("blocks") or [], call.params.get("text", ""))
            time.sleep(0.02)
        return "(No answer from the app.)"

    def align(self, text: str) -> str:
        url = self.api.response_url()
        token = url.rsplit("/", 1)[-1]
        req = self.requests.slash_command(
            "/align", text, user_id=USER, channel_id=CHANNEL, response_url=url
        )
        ack = self.app.dispatch(to_bolt_request(req))
        if ack.body:  # answered in the ack itself (usage help)
            import json

            body = json.loads(ack.body)
            return render_blocks(body.get("blocks") or [], body.get("text", ""))
        (call, *_) = self.api.wait_for(
            "response_url", timeout=REPLY_SECONDS, where=lambda c: c.params.get("_token") == token
        )
        return render_blocks(call.params.get("blocks") or [], call.params.get("text", ""))
