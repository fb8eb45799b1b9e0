"""A local stand-in for Slack: a fake Web API server and signed Slack → app requests.

* :class:`FakeSlackAPI` (``web_api``): ``/api/<method>``, response URLs and upload URLs on
  127.0.0.1, with a call log, Slack's validation errors and fault injection.
* :class:`SlackRequests` / :func:`sign` (``signed``): events, slash commands and interactions
  signed like Slack's, for ``app.dispatch(to_bolt_request(...))`` or :func:`post`.
* ``limits``: Slack's message and view limits as constants, and the validator the fake uses.
* ``socket_mode``: :class:`~local_slack.socket_mode.SocketModeSlackAPI`, the fake Web API with
  ``apps.connections.open`` and a fake Socket Mode WebSocket server (envelopes, acks with
  their latency, redelivery, disconnect / close / drop); ``serve_socket`` runs ``fwbot serve``
  in Socket Mode on it.
"""

from local_slack.limits import Violation, check_message, check_view
from local_slack.recording import Call
from local_slack.signed import SignedRequest, SlackRequests, post, sign, to_bolt_request
from local_slack.web_api import FakeSlackAPI

__all__ = [
    "Call",
    "FakeSlackAPI",
    "SignedRequest",
    "SlackRequests",
    "Violation",
    "check_message",
    "check_view",
    "post",
    "sign",
    "to_bolt_request",
]
