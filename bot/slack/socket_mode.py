"""Socket Mode: the bolt app served over Slack's WebSocket link
(:class:`bot.slack_api.socket_mode.SocketModeLink`, which survives refreshes, closes and drops
without a stall), run so that an orchestrator can tell when it serves and can stop it in order.

* **Ready.** Slack says ``hello`` on a new connection when it is ready to send envelopes;
  the first one logs and prints ``fwbot: Socket Mode connected`` (once: a reconnection logs
  ``fwbot: Socket Mode reconnected``). :attr:`SocketModeRunner.connected` is what /readyz
  reports: a connection that said ``hello`` is open.
* **Envelopes** go to the app as bolt's own Socket Mode adapters hand them over
  (``run_bolt_app``), and the app's response is the ack.
* **Stop** (:meth:`SocketModeRunner.stop`). No new envelope is handled (one that arrives is
  not acknowledged: Slack sends it again, to the next connection), the envelopes being
  handled are given until the deadline to be acknowledged, then the sockets are closed
  without reconnecting. What was acknowledged is the work pool's to finish or hand back
  (bot/cli/serve.py), as over HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from ..slack_api.socket_mode import SocketModeLink, socket_url
from . import request_log
from .health import NotReady
from .middleware import request_kind

log = logging.getLogger("fwbot")
READY_LINE = "fwbot: Socket Mode connected"


class SocketModeRunner:
    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        announce: Callable[[str], None] | None = None,
        ping_interval: float = 5.0,
        ping_timeout: float = 5.0,
    ) -> None:
        """``announce``: where the readiness line goes besides the log (stdout by default,
        where ``local_slack/serve_process.py`` waits for it)."""
        self.app = app
        self._announce = announce or (lambda line: print(line, flush=True))
        self.link = SocketModeLink(
            lambda: socket_url(app.client, app_token),
            self._handle,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            on_hello=self._on_hello,
        )

    # ---- state ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def refused(self) -> int:
        return self.link.refused

    def check(self) -> None:
        """The /readyz check: raises NotReady("disconnected") unless connected."""
        if not self.connected:
            raise NotReady("disconnected", "the Socket Mode connection is not open")

    # ---- running -------------------------------------------------------------------------------

    def start(self) -> SocketModeRunner:
        """Ask Slack for a socket URL (apps.connections.open) and connect; the link's own
        threads take it from there. Raises when Slack refuses the token or cannot be reached."""
        self.link.start()
        return self

    def _on_hello(self, first: bool) -> None:
        if first:
            log.info(READY_LINE)
            self._announce(READY_LINE)
        else:
            log.info("fwbot: Socket Mode reconnected")

    def _handle(self, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """The app's answer to one envelope: the ack's payload ({} for none), or None (no
        ack) when the app did not answer 200, as bolt's adapters do."""
        request = SocketModeRequest.from_dict(envelope)
        if request is None:
            return {}
        with request_log.envelope(envelope, request_kind) as logged:
            response = run_bolt_app(self.app, request)
            logged.status = response.status
        if response.status != 200:
            log.info("Socket Mode: the app answered %s; the envelope is not acked", response.status)
            return None
        if not response.body:
            return {}
        content_type = (response.headers.get("content-type") or [""])[0]
        if content_type.startswith("application/json"):
            return dict(json.loads(response.body))
        return {"text": response.body}

    # ---- stopping ------------------------------------------------------------------------------

    def stop(self, timeout: float) -> bool:
        """Take no new envelope, give those being handled up to ``timeout`` seconds to be
        acknowledged, close the sockets (no reconnection). True when none was cut off."""
        finished = self.link.stop(timeout)
        if self.refused:
            log.info(
                "fwbot: stop: %d envelope(s) arrived while stopping: not acknowledged "
                "(Slack sends them again)",
                self.refused,
            )
        return finished
