"""The local Slack stand-in: a real slack_sdk WebClient and a real bolt App against it."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import App, Assistant, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from local_slack import FakeSlackAPI, SlackRequests, post, sign, to_bolt_request
from local_slack import limits as L

SECRET = "test-signing-secret"

# slack_sdk warns when a message has blocks but no fallback `text`; some cases do that on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument:UserWarning")


@pytest.fixture
def slack() -> SlackRequests:
    return SlackRequests(SECRET)


def api_error(call, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": "a",
        "value": value,
    }


def select(options: int = 2, text: str = "opt", groups: int | None = None) -> dict[str, Any]:
    opts = [{"text": {"type": "plain_text", "text": text}, "value": str(i)} for i in range(options)]
    element: dict[str, Any] = {"type": "static_select", "action_id": "s"}
    if groups is None:
        element["options"] = opts
    else:
        label = {"type": "plain_text", "text": "g"}
        element["option_groups"] = [{"label": label, "options": opts} for _ in range(groups)]
    return element


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Align"}}
    view["blocks"] = blocks if blocks is not None else [section("hi")]
    return {**view, **extra}


# ---- Web API: round trips and recording -----------------------------------------------------


def test_post_message_round_trip_is_recorded(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    first = slack_client.chat_postMessage(channel="C1", text="hello", blocks=[section("*hi*")])
    second = slack_client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])
    assert first["ok"] and first["channel"] == "C1"
    assert first["message"]["user"] == "UBOT" and first["message"]["bot_id"] == "BBOT"
    assert first["message"]["blocks"] == [section("*hi*")]
    assert second["message"]["thread_ts"] == first["ts"]
    whole, _, micro = first["ts"].partition(".")
    assert whole.isdigit() and len(micro) == 6 and float(second["ts"]) > float(first["ts"])

    calls = fake_slack.calls("chat.postMessage")
    assert [c.params["text"] for c in calls] == ["hello", "again"]
    assert calls[0].headers["Authorization"] == "Bearer xoxb-test"
    assert calls[0].status == 200 and calls[0].response["ts"] == first["ts"]
    assert calls[0].at <= calls[1].at and calls[0].ok
    assert [m["text"] for m in fake_slack.messages("C1")] == ["hello", "again"]
    assert fake_slack.messages("C1")[0]["reply_count"] == 1


def test_form_and_json_bodies_are_both_decoded(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    blocks = [section("form")]
    metadata = {"event_type": "x", "event_payload": {"a": 1}}
    slack_client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "blocks": json.dumps(blocks), "metadata": json.dumps(metadata)},
    )
    slack_client.chat_postMessage(channel="C1", blocks=blocks, metadata=metadata)
    form, as_json = fake_slack.calls("chat.postMessage")
    assert form.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert as_json.headers["Content-Type"].startswith("application/json")
    for call in (form, as_json):
        assert call.ok and call.params["blocks"] == blocks and call.params["metadata"] == metadata
    slack_client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts="1.1", prompts=[{"title": "t", "message": "m"}]
    )
    assert fake_slack.calls("assistant.threads.setSuggestedPrompts")[0].params["prompts"] == [
        {"title": "t", "message": "m"}
    ]


def test_token_checks(fake_slack: FakeSlackAPI) -> None:
    wrong = WebClient(base_url=fake_slack.base_url, token="xoxb-wrong")
    assert api_error(wrong.auth_test).response["error"] == "invalid_auth"
    missing = WebClient(base_url=fake_slack.base_url)
    assert api_error(missing.auth_test).response["error"] == "not_authed"
    as_param = missing.api_call("auth.test", params={"token": "xoxb-test"})
    assert as_param["user_id"] == "UBOT" and as_param["team_id"] == "T0001"
    assert as_param["bot_id"] == "BBOT" and as_param["team"] == "Test Team"


def test_concurrent_posts_get_unique_ts(fake_slack: FakeSlackAPI) -> None:
    def post_some(n: int) -> None:
        client = fake_slack.client()
        for i in range(5):
            client.chat_postMessage(channel="C1", text=f"{n}-{i}")

    threads = [threading.Thread(target=post_some, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = fake_slack.wait_for("chat.postMessage", count=40)
    assert len({c.response["ts"] for c in calls}) == 40
    assert len(fake_slack.messages("C1")) == 40
    fake_slack.reset(keep_state=True)
    assert fake_slack.calls() == [] and len(fake_slack.messages("C1")) == 40
    fake_slack.reset()
    assert fake_slack.messages("C1") == []


def test_unknown_method(slack_client: WebClient) -> None:
    assert api_error(slack_client.api_call, "reactions.zap").response["error"] == "unknown_method"


# ---- validation --------------------------------------------------------------------------------

MESSAGE_CASES = [
    ({"text": ""}, "no_text"),
    ({"text": "x" * (L.MAX_MESSAGE_TEXT + 1)}, "msg_too_long"),
    ({"blocks": [section("x")] * (L.MAX_MESSAGE_BLOCKS + 1)}, "invalid_blocks"),
    ({"blocks": [section("x" * (L.MAX_SECTION_TEXT + 1))]}, "invalid_blocks"),
    (
        {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}]},
        "invalid_blocks",
    ),
    (
        {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
        "invalid_blocks",
    ),
    (
        {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 2001}]}]},
        "invalid_blocks",
    ),
    ({"blocks": [{"type": "actions", "elements": [button("x" * 76)]}]}, "invalid_blocks"),
    ({"blocks": [{"type": "actions", "elements": [button(value="x" * 2001)]}]}, "invalid_blocks"),
    ({"blocks": [{"type": "actions", "elements": [button()] * 26}]}, "invalid_blocks"),
]


@pytest.mark.parametrize(("fields", "expected"), MESSAGE_CASES)
def test_message_validation_errors(
    fake_slack: FakeSlackAPI, slack_client: WebClient, fields: dict[str, Any], expected: str
) -> None:
    posted = slack_client.chat_postMessage(channel="C1", text="seed")
    for call, kwargs in (
        (slack_client.chat_postMessage, {"channel": "C1"}),
        (slack_client.chat_postEphemeral, {"channel": "C1", "user": "U1"}),
        (slack_client.chat_update, {"channel": "C1", "ts": posted["ts"]}),
    ):
        err = api_error(call, **kwargs, **fields)
        assert err.response["error"] == expected
    status = WebhookClient(fake_slack.response_url()).send_dict(fields).status_code
    assert status == 400 and fake_slack.calls("response_url")[-1].response["error"] == expected


def test_limits_are_inclusive_and_explained() -> None:
    at_limit = {
        "text": "x" * L.MAX_MESSAGE_TEXT,
        "blocks": [
            section("x" * L.MAX_SECTION_TEXT),
            {"type": "header", "text": {"type": "plain_text", "text": "x" * L.MAX_HEADER_TEXT}},
            {"type": "actions", "elements": [button("x" * L.MAX_BUTTON_TEXT)] * 25},
        ]
        + [{"type": "divider"}] * (L.MAX_MESSAGE_BLOCKS - 3),
    }
    assert L.check_message(at_limit) is None
    found = L.check_message({"blocks": [section("ok"), section("x" * 3001)]})
    assert found is not None and found.pointer == "/blocks/1/text/text"
    assert found.metadata_message() == (
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    )
    assert L.check_view(modal([section("x")] * L.MAX_VIEW_BLOCKS)) is None


def test_validation_detail_in_response(slack_client: WebClient) -> None:
    err = api_error(slack_client.chat_postMessage, channel="C1", blocks=[section("x" * 3001)])
    assert err.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


def accessory_select(**kwargs: Any) -> dict[str, Any]:
    return {"type": "section", "text": section("s")["text"], "accessory": select(**kwargs)}


# (modal, expected error, whether the same content published as a home tab fails the same way)
VIEW_CASES = [
    (modal([section("x")] * 101), "invalid_blocks", True),
    (modal(title={"type": "plain_text", "text": "x" * 25}), "invalid_arguments", False),
    (modal(private_metadata="x" * 3001), "invalid_arguments", True),
    (modal([accessory_select(text="x" * 76)]), "invalid_blocks", True),
    (modal([{"type": "actions", "elements": [select(options=101)]}]), "invalid_blocks", True),
    (modal([accessory_select(options=1, groups=101)]), "invalid_blocks", True),
]


@pytest.mark.parametrize(("view", "expected", "home_too"), VIEW_CASES)
def test_view_validation_errors(
    slack_client: WebClient, view: dict[str, Any], expected: str, home_too: bool
) -> None:
    assert (
        api_error(slack_client.views_open, trigger_id="t1", view=view).response["error"] == expected
    )
    assert (
        api_error(slack_client.views_push, trigger_id="t1", view=view).response["error"] == expected
    )
    home = {k: v for k, v in view.items() if k != "title"} | {"type": "home"}
    if home_too:
        err = api_error(slack_client.views_publish, user_id="U1", view=home)
        assert err.response["error"] == expected
    else:
        assert slack_client.views_publish(user_id="U1", view=home)["ok"]


def test_views_lifecycle_and_expired_trigger(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    err = api_error(slack_client.views_open, trigger_id="expired-123", view=modal())
    assert err.response["error"] == "expired_trigger_id"
    opened = slack_client.views_open(trigger_id="t1", view=modal(external_id="ext-1"))["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "Align"
    pushed = slack_client.views_push(trigger_id="t2", view=modal())["view"]
    assert pushed["id"] != opened["id"]
    updated = slack_client.views_update(external_id="ext-1", view=modal([section("new")]))["view"]
    assert updated["id"] == opened["id"] and fake_slack.view(opened["id"])["blocks"] == [
        section("new")
    ]
    assert api_error(slack_client.views_update, view_id="VNOPE", view=modal()).response[
        "error"
    ] == ("not_found")
    home = {"type": "home", "blocks": [section("home")]}
    first = slack_client.views_publish(user_id="U1", view=home)["view"]
    again = slack_client.views_publish(user_id="U1", view=home)["view"]
    assert first["id"] == again["id"] and fake_slack.home_view("U1")["blocks"] == [section("home")]


# ---- fault injection ---------------------------------------------------------------------------


@pytest.mark.slow  # waits out a 1 s Retry-After
def test_429_retry_after_is_honoured_by_the_sdk(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    client = WebClient(
        base_url=fake_slack.base_url,
        token="xoxb-test",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    limited, accepted = fake_slack.calls("chat.postMessage")
    assert limited.status == 429 and limited.response == {"ok": False, "error": "ratelimited"}
    assert accepted.status == 200 and accepted.at - limited.at >= 1


def test_fail_next_surfaces_as_slack_api_error(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found", times=2)
    fake_slack.fail_next("chat.postMessage", error="fatal_error", status=500)
    for expected, status in (("channel_not_found", 200),) * 2 + (("fatal_error", 500),):
        err = api_error(slack_client.chat_postMessage, channel="C1", text="hi")
        assert err.response["error"] == expected and err.response.status_code == status
    assert slack_client.chat_postMessage(channel="C1", text="hi")["ok"]  # the queue is used up


def test_rate_limit_gives_429_with_retry_after(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    fake_slack.rate_limit(per_channel_per_sec=0.5, workspace_per_sec=None)
    assert slack_client.chat_postMessage(channel="C1", text="1")["ok"]
    assert slack_client.chat_postMessage(channel="C2", text="other channel")["ok"]
    err = api_error(slack_client.chat_postMessage, channel="C1", text="2")
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "2"
    fake_slack.rate_limit(per_channel_per_sec=None, workspace_per_sec=1)
    assert slack_client.chat_postMessage(channel="C3", text="a")["ok"]
    assert (
        api_error(slack_client.chat_postMessage, channel="C4", text="b").response.status_code == 429
    )
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [200, 200, 429, 200, 429]


def test_delay_slows_a_method(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    fake_slack.delay("auth.test", 0.3)
    started = time.monotonic()
    slack_client.auth_test()
    assert time.monotonic() - started >= 0.3
    fake_slack.delay("auth.test", 0)
    fake_slack.reset()
    assert fake_slack.calls() == []


def test_a_delayed_post_lands_after_the_client_gave_up(fake_slack: FakeSlackAPI) -> None:
    """As in Slack: a post slower than the client's timeout still lands, at the end of the
    delay, and the history shows it only from then on."""
    client = fake_slack.client(retry_handlers=[])
    client.timeout = 0.2  # type: ignore[assignment]
    fake_slack.delay("chat.postMessage", 0.6)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="late")
    assert fake_slack.messages("C1") == []  # not landed yet
    assert client.conversations_history(channel="C1")["messages"] == []
    fake_slack.wait_idle()  # the delayed call has been handled
    (landed,) = fake_slack.calls("chat.postMessage")  # recorded when it landed
    assert landed.status == 200
    assert [m["text"] for m in fake_slack.messages("C1")] == ["late"]
    assert [m["text"] for m in client.conversations_history(channel="C1")["messages"]] == ["late"]


def test_wait_for_blocks_then_times_out_with_the_calls_seen(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    timer = threading.Timer(0.2, lambda: slack_client.chat_postMessage(channel="C9", text="late"))
    timer.start()
    found = fake_slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "C9")
    assert found[0].params["text"] == "late"
    with pytest.raises(AssertionError, match=re.escape("chat.postMessage -> 200")):
        fake_slack.wait_for("chat.update", timeout=0.2)


# ---- response_url ------------------------------------------------------------------------------


def test_response_url_allows_five_uses(fake_slack: FakeSlackAPI) -> None:
    url = fake_slack.response_url("tok1")
    assert url == f"http://127.0.0.1:{fake_slack.port}/response/tok1"
    hook = WebhookClient(url)
    for i in range(5):
        resp = hook.send(text=f"r{i}", response_type="ephemeral", replace_original=True)
        assert resp.status_code == 200 and json.loads(resp.body) == {"ok": True}
    sixth = hook.send(text="too many")
    assert sixth.status_code == 404 and json.loads(sixth.body)["error"] == "used_url"
    calls = fake_slack.calls("response_url")
    assert calls[0].params == {
        "text": "r0",
        "response_type": "ephemeral",
        "replace_original": True,
        "_token": "tok1",
    }
    fake_slack.expire_response_url("tok2")
    assert WebhookClient(fake_slack.response_url("tok2")).send(text="x").status_code == 404
    assert WebhookClient(fake_slack.response_url()).send(delete_original=True).status_code == 200
    fake_slack.fail_next("response_url", error="internal_error", status=500)
    assert WebhookClient(fake_slack.response_url()).send(text="x").status_code == 500


# ---- conversations, users, files, assistant ----------------------------------------------------


def test_history_and_replies(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    meta = {"event_type": "fwbot_answer", "event_payload": {"q": "1"}}
    parent = slack_client.chat_postMessage(channel="C1", text="p", metadata=meta)["ts"]
    slack_client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)
    later = slack_client.chat_postMessage(channel="C1", text="later")["ts"]

    def texts(**kwargs: Any) -> list[str]:
        return [
            m["text"]
            for m in slack_client.conversations_history(channel="C1", **kwargs)["messages"]
        ]

    with_meta = slack_client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in with_meta["messages"]] == ["later", "p"]  # newest first
    assert with_meta["messages"][1]["metadata"] == meta
    assert "metadata" not in slack_client.conversations_history(channel="C1")["messages"][1]
    page = slack_client.conversations_history(channel="C1", limit=1)
    assert page["has_more"] and [m["text"] for m in page["messages"]] == ["later"]
    assert texts(cursor=page["response_metadata"]["next_cursor"]) == ["p"]
    assert texts(oldest=parent) == ["later"] and texts(latest=later) == ["p"]
    assert texts(oldest=parent, inclusive=True) == ["later", "p"]

    thread = slack_client.conversations_replies(channel="C1", ts=parent, include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["p", "reply"]
    assert thread["messages"][0]["metadata"] == meta
    err = api_error(slack_client.conversations_replies, channel="C1", ts="1.000001")
    assert err.response["error"] == "thread_not_found"


def test_update_delete_open_and_users(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="v1")["ts"]
    assert slack_client.chat_update(channel="C1", ts=ts, text="v2")["message"]["text"] == "v2"
    assert fake_slack.messages("C1")[0]["text"] == "v2"
    err = api_error(slack_client.chat_update, channel="C1", ts="1.000001", text="x")
    assert err.response["error"] == "message_not_found"
    assert slack_client.chat_delete(channel="C1", ts=ts)["ok"] and fake_slack.messages("C1") == []
    assert slack_client.conversations_open(users="U123")["channel"]["id"] == "DU123"
    assert slack_client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert fake_slack.ephemeral_messages()[0]["to_user"] == "U1"

    fake_slack.add_user("U1", tz="America/New_York", tz_offset=-18000, real_name="Ada")
    user = slack_client.users_info(user="U1")["user"]
    assert (user["tz"], user["tz_offset"], user["real_name"]) == ("America/New_York", -18000, "Ada")
    assert fake_slack.add_user("U2")["tz"] == "Europe/Paris"
    assert api_error(slack_client.users_info, user="UNOPE").response["error"] == "user_not_found"


def test_file_upload_v2_end_to_end(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    result = slack_client.files_upload_v2(content=b"\x89PNG...", filename="x.png", channel="C1")
    assert result["ok"] and result["file"]["name"] == "x.png"
    file_id = result["file"]["id"]
    assert [c.method for c in fake_slack.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert fake_slack.calls("files.completeUploadExternal")[0].params["files"] == [
        {"id": file_id, "title": "x.png"}
    ]
    stored = fake_slack.uploaded_file(file_id)
    assert stored["content"] == b"\x89PNG..." and stored["shares"][0]["channel"] == "C1"
    assert fake_slack.messages("C1")[0]["files"][0]["id"] == file_id


def test_assistant_thread_methods(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    slack_client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="thinking…")
    slack_client.assistant_threads_setTitle(channel_id="D1", thread_ts="1.1", title="Alignment")
    assert fake_slack.assistant_thread("D1", "1.1") == {"status": "thinking…", "title": "Alignment"}


# ---- signed requests ---------------------------------------------------------------------------


def test_sign_matches_the_sdk_verifier(slack: SlackRequests) -> None:
    verifier = SignatureVerifier(SECRET)
    headers = sign('{"a":1}', SECRET)
    assert verifier.is_valid_request('{"a":1}', headers)
    assert sign("b", SECRET, 1_700_000_000)["X-Slack-Request-Timestamp"] == "1700000000"
    requests = [
        slack.slash_command("/align", "x", user_id="U1", channel_id="C1", response_url="u"),
        slack.event(slack.app_mention_event("<@UBOT> hi", user="U1", channel="C1", ts="1.2")),
        slack.interaction(
            slack.block_actions_payload(
                "a", "v", user="U1", channel="C1", response_url="u", trigger_id="t"
            )
        ),
        slack.url_verification("abc"),
    ]
    for req in requests:
        assert verifier.is_valid_request(req.body, req.headers)
    assert not verifier.is_valid_request(
        requests[0].body, slack.resign(requests[0], secret="nope").headers
    )
    command = requests[0].parsed()
    assert command["command"] == "/align" and command["is_enterprise_install"] == "false"
    assert requests[0].content_type == "application/x-www-form-urlencoded"
    assert requests[1].content_type == "application/json"
    assert requests[2].parsed()["actions"][0]["value"] == "v"


def test_event_envelope_and_retry_headers(slack: SlackRequests) -> None:
    req = slack.event({"type": "app_mention"}, retry_num=1)
    body = req.parsed()
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")
    assert body["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T0001",
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    assert req.headers["X-Slack-Retry-Num"] == "1"
    assert req.headers["X-Slack-Retry-Reason"] == "http_timeout"


@pytest.fixture
def app(fake_slack: FakeSlackAPI) -> App:
    app = App(
        token="xoxb-test",
        signing_secret=SECRET,
        client=WebClient(base_url=fake_slack.base_url, token="xoxb-test"),
    )

    @app.command("/align")
    def align(ack, respond, command) -> None:
        ack("Aligning…")
        respond(f"aligned: {command['text']}")

    @app.event("app_mention")
    def mention(event, say) -> None:
        say(text=f"hi <@{event['user']}>", thread_ts=event["ts"])

    @app.action("pick")
    def pick(ack, body, respond) -> None:
        ack()
        respond(f"picked {body['actions'][0]['value']}", replace_original=True)

    return app


def test_bolt_app_accepts_signed_requests(fake_slack: FakeSlackAPI, app: App, slack: SlackRequests):
    cmd = slack.slash_command(
        "/align",
        "our plan",
        user_id="U1",
        channel_id="C1",
        response_url=fake_slack.response_url("c"),
    )
    resp = app.dispatch(to_bolt_request(cmd))
    assert resp.status == 200 and resp.body == "Aligning…"  # bolt acks a bare text as-is
    assert fake_slack.wait_for("response_url")[0].params["text"] == "aligned: our plan"

    event = slack.app_mention_event("<@UBOT> align", user="U1", channel="C1", ts="1700000000.1")
    assert app.dispatch(to_bolt_request(slack.event(event))).status == 200
    posted = fake_slack.wait_for("chat.postMessage")[0]
    assert posted.params | {"team_id": "T0001"} == {  # bolt's client adds the team
        "channel": "C1",
        "text": "hi <@U1>",
        "thread_ts": "1700000000.1",
        "team_id": "T0001",
    }

    action = slack.block_actions_payload(
        "pick",
        "v2",
        user="U1",
        channel="C1",
        response_url=fake_slack.response_url("a"),
        trigger_id="t",
    )
    assert app.dispatch(to_bolt_request(slack.interaction(action))).status == 200
    assert fake_slack.wait_for("response_url", where=lambda c: c.params["_token"] == "a")

    verify = app.dispatch(to_bolt_request(slack.url_verification("xyz")))
    assert json.loads(verify.body) == {"challenge": "xyz"}


def test_bolt_rejects_forged_and_stale_requests(app: App, slack: SlackRequests) -> None:
    event = slack.event(slack.app_mention_event("hi", user="U1", channel="C1", ts="1.1"))
    assert app.dispatch(to_bolt_request(slack.resign(event, secret="wrong"))).status == 401
    stale = SlackRequests(SECRET, clock=lambda: time.time() - 301)
    old = stale.event(stale.app_mention_event("hi", user="U1", channel="C1", ts="1.1"))
    assert not SignatureVerifier(SECRET).is_valid_request(old.body, old.headers)
    assert app.dispatch(to_bolt_request(old)).status == 401


def test_bolt_assistant_reads_the_thread_shapes(fake_slack: FakeSlackAPI, slack: SlackRequests):
    app = App(signing_secret=SECRET, client=fake_slack.client())
    assistant = Assistant()

    @assistant.thread_started
    def started(say, set_suggested_prompts, get_thread_context) -> None:
        context = get_thread_context()
        say(f"hello from {context.channel_id}")
        set_suggested_prompts(prompts=[{"title": "Align", "message": "Align my plan"}])

    @assistant.user_message
    def user_message(payload, say, set_status) -> None:
        set_status("thinking…")
        say(f"you said {payload['text']}")

    app.use(assistant)
    started_event = slack.assistant_thread_started_event(
        "U1", "D1", "1700000000.000001", context_channel="C7"
    )
    assert app.dispatch(to_bolt_request(slack.event(started_event))).status == 200
    hello = fake_slack.wait_for("chat.postMessage")[0]
    assert hello.params["text"] == "hello from C7" and hello.params["channel"] == "D1"
    assert hello.params["metadata"]["event_payload"]["channel_id"] == "C7"
    fake_slack.wait_for("assistant.threads.setSuggestedPrompts")

    message = slack.message_im_event(
        "help", user="U1", channel="D1", ts="1700000000.000200", thread_ts="1700000000.000001"
    )
    assert app.dispatch(to_bolt_request(slack.event(message))).status == 200
    reply = fake_slack.wait_for("chat.postMessage", count=2)[1]
    assert reply.params["text"] == "you said help"
    assert reply.params["metadata"]["event_payload"]["channel_id"] == "C7"
    assert fake_slack.assistant_thread("D1", "1700000000.000001")["status"] == "thinking…"


def test_payload_shapes(slack: SlackRequests) -> None:
    home = slack.block_actions_payload(
        "pick", "v", user="U1", trigger_id="t", view={"id": "V9", "type": "home"}
    )
    assert home["container"] == {"type": "view", "view_id": "V9"}
    assert "response_url" not in home and "channel" not in home
    select = slack.block_actions_payload(
        "s",
        "3",
        user="U1",
        channel="C1",
        response_url="u",
        trigger_id="t",
        action_type="static_select",
    )
    assert select["actions"][0]["selected_option"]["value"] == "3"
    submission = slack.view_submission_payload(
        "align_modal", {"b": {"a": "typed"}}, user="U1", private_metadata="pm"
    )
    assert submission["view"]["state"]["values"] == {
        "b": {"a": {"type": "plain_text_input", "value": "typed"}}
    }
    shortcut = slack.message_shortcut_payload(
        "align_msg",
        {"ts": "1.2", "text": "x"},
        user="U1",
        channel="C1",
        response_url="u",
        trigger_id="t",
    )
    assert shortcut["type"] == "message_action" and shortcut["message_ts"] == "1.2"
    im = slack.message_im_event("hi", user="U1", channel="D1", ts="1.3", bot_id="B2")
    assert im["channel_type"] == "im" and im["bot_id"] == "B2" and "client_msg_id" not in im
    opened = slack.app_home_opened_event("U1")
    assert opened["tab"] == "home" and opened["channel"] == "DU1"
    mention = slack.app_mention_event("<@UBOT> hi", user="U1", channel="C1", ts="1.4")
    elements = mention["blocks"][0]["elements"][0]["elements"]
    assert elements == [{"type": "user", "user_id": "UBOT"}, {"type": "text", "text": " hi"}]


def test_post_over_http_to_a_bolt_app(app: App, slack: SlackRequests) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
            resp = app.dispatch(BoltRequest(body=raw, headers=dict(self.headers.items())))
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(resp.body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        status, _, body = post(url, slack.url_verification("c1"))
        assert status == 200 and json.loads(body) == {"challenge": "c1"}
        status, _, _ = post(url, slack.resign(slack.url_verification("c2"), secret="bad"))
        assert status == 401
    finally:
        server.shutdown()
        server.server_close()
