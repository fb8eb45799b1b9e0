"""The fake Socket Mode server (local_slack/socket_mode.py) against slack_sdk's own builtin
``SocketModeClient``: the handshake through ``apps.connections.open``, hello, acks and their
latency, Slack's redelivery of unacked events, failed commands, and the client coming back
after a refresh, a close and a dropped connection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from local_slack import SlackRequests
from local_slack.socket_mode import DEFAULT_APP_TOKEN, SocketModeSlackAPI
from tests.slack_fixtures import eventually

FAST_ACK = 0.5  # seconds: the fake's ack deadline in these tests (Slack's is 3 s)

Listener = Callable[[SocketModeClient, SocketModeRequest], None]


@pytest.fixture
def slack() -> Iterator[SocketModeSlackAPI]:
    with SocketModeSlackAPI(ack_timeout=FAST_ACK, close_after=0.5) as api:
        yield api


class Client:
    """A builtin SocketModeClient on the fake, recording what it was sent."""

    def __init__(self, slack: SocketModeSlackAPI, listener: Listener | None = None) -> None:
        self.messages: list[dict] = []
        self.requests: list[SocketModeRequest] = []
        self._lock = threading.Lock()
        web = WebClient(base_url=slack.base_url)
        self.sdk = SocketModeClient(app_token=DEFAULT_APP_TOKEN, web_client=web, ping_interval=1)
        self.sdk.message_listeners.append(self._message)
        self.sdk.socket_mode_request_listeners.append(listener or self.ack)

    def _message(self, _client, message: dict, _raw) -> None:
        with self._lock:
            self.messages.append(message)

    def close(self, slack: SocketModeSlackAPI) -> None:
        """Close the client quickly: its reader holds a lock in recv() for up to 3 s unless
        the server resets the connection first."""
        self.sdk.auto_reconnect_enabled = False
        slack.socket_mode.drop("rst")
        self.sdk.close()

    def ack(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        with self._lock:
            self.requests.append(req)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


@pytest.fixture
def client(slack: SocketModeSlackAPI) -> Iterator[Client]:
    c = Client(slack)
    try:
        yield c
    finally:
        c.close(slack)


def _event(slack: SlackRequests, text: str = "<@UBOT> hello") -> dict:
    event = slack.app_mention_event(text, user="U1", channel="C1", ts="1.000001")
    return slack.event(event).parsed()


REQUESTS = SlackRequests("unused-secret")


def test_connections_open_needs_an_app_token(slack: SocketModeSlackAPI) -> None:
    for token, problem in (("xoxb-test", "not_allowed_token_type"), ("xapp-1-x", "invalid_auth")):
        with pytest.raises(SlackApiError) as refused:
            WebClient(base_url=slack.base_url).apps_connections_open(app_token=token)
        assert refused.value.response["error"] == problem
    opened = WebClient(base_url=slack.base_url).apps_connections_open(app_token=DEFAULT_APP_TOKEN)
    assert opened["url"].startswith(f"ws://127.0.0.1:{slack.socket_mode.port}/link/?ticket=")


def test_the_client_connects_and_is_greeted(slack: SocketModeSlackAPI, client: Client) -> None:
    client.sdk.connect()
    [link] = slack.socket_mode.wait_connected(1)
    assert link.hello_at is not None
    assert [c.method for c in slack.calls()] == ["apps.connections.open"]
    [hello] = eventually(lambda: [m for m in client.messages if m.get("type") == "hello"])
    assert hello["connection_info"] == {"app_id": "A0001"}
    assert hello["num_connections"] == 1


@pytest.mark.slow  # waits out the fake's real-time ack deadlines
def test_a_ticket_is_used_once(slack: SocketModeSlackAPI, client: Client) -> None:
    client.sdk.connect()
    slack.socket_mode.wait_connected(1)
    again = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN,
        web_client=WebClient(base_url=slack.base_url),
        auto_reconnect_enabled=False,
    )
    again.wss_uri = client.sdk.wss_uri  # the URL already used
    try:
        again.connect()
        assert not again.is_connected()
    finally:
        again.close()
    assert len(slack.socket_mode.connections()) == 1


def test_envelopes_are_acked_and_their_latency_recorded(
    slack: SocketModeSlackAPI, client: Client
) -> None:
    client.sdk.connect()
    slack.socket_mode.wait_connected(1)
    body = _event(REQUESTS)
    envelope_id = slack.socket_mode.deliver_event(body)
    latency = slack.socket_mode.wait_for_ack(envelope_id)
    assert 0 <= latency < FAST_ACK
    [req] = client.requests
    assert (req.type, req.envelope_id, req.payload) == ("events_api", envelope_id, body)
    assert req.retry_attempt == 0
    [acked] = slack.socket_mode.acks()
    assert acked.envelope_id == envelope_id and acked.acks == 1


def test_commands_and_interactions_from_signed_requests(
    slack: SocketModeSlackAPI, client: Client
) -> None:
    client.sdk.connect()
    slack.socket_mode.wait_connected(1)
    command = REQUESTS.slash_command(
        "/align", "train", user_id="U1", channel_id="C1", response_url="http://127.0.0.1:1/r"
    )
    button = REQUESTS.interaction(
        REQUESTS.block_actions_payload("a1", "v", user="U1", channel="C1")
    )
    ids = [slack.socket_mode.deliver_request(command), slack.socket_mode.deliver_request(button)]
    for envelope_id in ids:
        slack.socket_mode.wait_for_ack(envelope_id)
    by_id = {r.envelope_id: r for r in client.requests}
    assert by_id[ids[0]].type == "slash_commands"
    assert by_id[ids[0]].payload["command"] == "/align"
    assert by_id[ids[0]].accepts_response_payload is True
    assert by_id[ids[1]].type == "interactive"
    assert by_id[ids[1]].payload["actions"][0]["action_id"] == "a1"


@pytest.mark.slow  # waits out the fake's real-time ack deadlines
def test_an_unacked_event_is_delivered_again_bounded(slack: SocketModeSlackAPI) -> None:
    seen: list[SocketModeRequest] = []
    silent = Client(slack, listener=lambda _c, req: seen.append(req))
    try:
        silent.sdk.connect()
        slack.socket_mode.wait_connected(1)
        first = slack.socket_mode.deliver_event(_event(REQUESTS))
        fake = slack.socket_mode

        def all_sent() -> bool:
            return len(fake.attempts(first)) == 1 + fake.max_retries

        fake.wait_until(all_sent, FAST_ACK * (fake.max_retries + 2) + 5)
        attempts = fake.attempts(first)
        assert [a.retry_attempt for a in attempts] == [0, 1, 2, 3]
        assert [a.retry_reason for a in attempts] == ["", "timeout", "timeout", "timeout"]
        assert len({a.envelope_id for a in attempts}) == 4
        assert {a.payload["event_id"] for a in attempts} == {attempts[0].payload["event_id"]}
    finally:
        silent.close(slack)


@pytest.mark.slow  # waits out the fake's real-time ack deadlines
def test_a_retry_acked_ends_the_redelivery(slack: SocketModeSlackAPI) -> None:
    def ack_retries_only(client: SocketModeClient, req: SocketModeRequest) -> None:
        if req.retry_attempt:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    c = Client(slack, listener=ack_retries_only)
    try:
        c.sdk.connect()
        slack.socket_mode.wait_connected(1)
        first = slack.socket_mode.deliver_event(_event(REQUESTS))
        acked = slack.socket_mode.wait_for_any_ack(first, timeout=10)
        assert acked.retry_attempt == 1 and acked.retry_reason == "timeout"
        assert acked.acked_at is not None
        assert acked.acked_at - slack.socket_mode.envelope(first).created_at >= FAST_ACK
    finally:
        c.close(slack)


@pytest.mark.slow  # waits out the fake's real-time ack deadlines
def test_an_unacked_command_is_a_failure(slack: SocketModeSlackAPI) -> None:
    c = Client(slack, listener=lambda _c, _req: None)
    try:
        c.sdk.connect()
        slack.socket_mode.wait_connected(1)
        command = REQUESTS.slash_command(
            "/align", "x", user_id="U1", channel_id="C1", response_url="http://127.0.0.1:1/r"
        )
        envelope_id = slack.socket_mode.deliver_request(command)
        fake = slack.socket_mode
        fake.wait_until(fake.failures, FAST_ACK + 5)
        [failed] = fake.failures()
        assert failed.envelope_id == envelope_id and failed.acked_at is None
        assert len(fake.attempts(envelope_id)) == 1  # never redelivered
    finally:
        c.close(slack)


def test_envelopes_wait_for_a_connection(slack: SocketModeSlackAPI, client: Client) -> None:
    envelope_id = slack.socket_mode.deliver_event(_event(REQUESTS))
    client.sdk.connect()
    slack.socket_mode.wait_for_ack(envelope_id)


@pytest.mark.slow
def test_after_a_refresh_the_client_reconnects(slack: SocketModeSlackAPI, client: Client) -> None:
    client.sdk.connect()
    [old] = slack.socket_mode.wait_connected(1)
    assert slack.socket_mode.refresh() == [old.id]
    envelope_id = slack.socket_mode.deliver_event(_event(REQUESTS))  # during the refresh
    [new] = slack.socket_mode.wait_connected(1, after=old.id)
    slack.socket_mode.wait_for_ack(envelope_id)
    assert slack.socket_mode.envelope(envelope_id).link_id == new.id  # not the old one
    assert slack.socket_mode.wait_closed(old.id).disconnect_reason == "refresh_requested"
    # (the client handles the disconnect message itself: its listeners never see it)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["close", "fin", "rst"])
def test_after_a_close_or_drop_the_client_reconnects(
    slack: SocketModeSlackAPI, client: Client, how: str
) -> None:
    client.sdk.connect()
    [old] = slack.socket_mode.wait_connected(1)
    if how == "close":
        slack.socket_mode.close(1001)
    else:
        slack.socket_mode.drop("fin" if how == "fin" else "rst")
    [new] = slack.socket_mode.wait_connected(1, after=old.id, timeout=30)
    envelope_id = slack.socket_mode.deliver_event(_event(REQUESTS))
    slack.socket_mode.wait_for_ack(envelope_id)
    assert slack.socket_mode.envelope(envelope_id).link_id == new.id
    if how == "close":
        assert slack.socket_mode.wait_closed(old.id).close_sent == 1001


@pytest.mark.slow
def test_after_a_silent_drop_the_client_reconnects_on_its_ping_timeout(
    slack: SocketModeSlackAPI, client: Client
) -> None:
    client.sdk.connect()  # ping_interval 1 s: stale after 4 s without a pong
    [old] = slack.socket_mode.wait_connected(1)
    slack.socket_mode.drop("silent")
    envelope_id = slack.socket_mode.deliver_event(_event(REQUESTS))  # waits for a connection
    [new] = slack.socket_mode.wait_connected(1, after=old.id, timeout=30)
    slack.socket_mode.wait_for_ack(envelope_id, timeout=10)
    assert slack.socket_mode.envelope(envelope_id).link_id == new.id
