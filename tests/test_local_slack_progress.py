"""What the fake Slack gained for progress nudges: user groups, files.delete, unreachable
users, DM history with metadata, and answers that never arrive (``drop_response``)."""

from __future__ import annotations

import http.client

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from local_slack import FakeSlackAPI

TOKEN = "xoxb-test"


def error_of(call, **kwargs) -> str:
    with pytest.raises(SlackApiError) as raised:
        call(**kwargs)
    return raised.value.response["error"]


def test_usergroup_members(fake_slack: FakeSlackAPI, no_retry_client: WebClient) -> None:
    fake_slack.add_usergroup("S1", ["U1", "U2"])
    assert no_retry_client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    fake_slack.add_usergroup("S1", ["U3"])  # replaced
    assert no_retry_client.usergroups_users_list(usergroup="S1")["users"] == ["U3"]
    assert error_of(no_retry_client.usergroups_users_list, usergroup="S9") == "no_such_subteam"
    fake_slack.reset()  # user groups, like users, stay
    assert no_retry_client.usergroups_users_list(usergroup="S1")["users"] == ["U3"]


def test_files_delete(fake_slack: FakeSlackAPI, no_retry_client: WebClient) -> None:
    uploaded = no_retry_client.files_upload_v2(content=b"png", filename="chart.png", channel="C1")
    file_id = uploaded["file"]["id"]
    assert no_retry_client.files_delete(file=file_id)["ok"]
    assert fake_slack.uploaded_file(file_id) is None and fake_slack.deleted_files() == [file_id]
    assert fake_slack.messages("C1")[0]["files"] == [{"id": file_id, "mode": "tombstone"}]
    assert error_of(no_retry_client.files_delete, file=file_id) == "file_not_found"
    assert error_of(no_retry_client.files_delete, file="FNOPE") == "file_not_found"


def test_deactivated_and_unreachable_users(
    fake_slack: FakeSlackAPI, no_retry_client: WebClient
) -> None:
    fake_slack.add_user("U1", deleted=True)
    fake_slack.add_user("U2")
    fake_slack.make_unreachable("U2")
    fake_slack.make_unreachable("W3", error="cannot_dm_bot")
    for user, expected in (
        ("U1", "account_inactive"),
        ("U2", "user_not_found"),
        ("W3", "cannot_dm_bot"),
    ):
        assert error_of(no_retry_client.chat_postMessage, channel=user, text="hi") == expected
        assert error_of(no_retry_client.conversations_open, users=user) == expected
    assert fake_slack.messages("DU1") == []
    # Users never added, and live ones, work as before.
    fake_slack.add_user("U4")
    assert no_retry_client.chat_postMessage(channel="U4", text="hi")["channel"] == "DU4"
    assert no_retry_client.chat_postMessage(channel="U999", text="hi")["channel"] == "DU999"
    assert no_retry_client.conversations_open(users="U999")["channel"]["id"] == "DU999"


def test_dm_history_with_metadata_oldest_limit_and_cursor(
    fake_slack: FakeSlackAPI, no_retry_client: WebClient
) -> None:
    dm = no_retry_client.conversations_open(users="U1")["channel"]["id"]
    assert dm == "DU1"
    sent = []
    for n in range(5):
        meta = {"event_type": "fwbot_nudge", "event_payload": {"n": n}}
        sent.append(
            no_retry_client.chat_postMessage(channel="U1", text=f"m{n}", metadata=meta)["ts"]
        )
    page = no_retry_client.conversations_history(
        channel=dm, include_all_metadata=True, oldest=sent[0], limit=2
    )
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"] and page["has_more"]
    assert page["messages"][0]["metadata"] == {
        "event_type": "fwbot_nudge",
        "event_payload": {"n": 4},
    }
    assert page["messages"][0]["bot_id"] == "BBOT"
    rest = no_retry_client.conversations_history(
        channel=dm,
        include_all_metadata=True,
        oldest=sent[0],
        limit=2,
        cursor=page["response_metadata"]["next_cursor"],
    )
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1"]  # m0 is not after oldest
    assert not rest["has_more"] and rest["response_metadata"]["next_cursor"] == ""
    inclusive = no_retry_client.conversations_history(channel=dm, oldest=sent[0], inclusive=True)
    assert len(inclusive["messages"]) == 5
    plain = no_retry_client.conversations_history(channel=dm)["messages"]
    assert all("metadata" not in m for m in plain)


def test_a_dropped_answer_runs_the_method_but_never_answers(
    fake_slack: FakeSlackAPI, no_retry_client: WebClient
) -> None:
    fake_slack.drop_response("chat.postMessage")
    with pytest.raises(http.client.RemoteDisconnected):
        no_retry_client.chat_postMessage(channel="U1", text="hi")
    assert [m["text"] for m in fake_slack.messages("DU1")] == ["hi"]  # it was delivered
    (call,) = fake_slack.calls("chat.postMessage")
    assert call.status == 0 and call.response["ok"]
    assert no_retry_client.chat_postMessage(channel="U1", text="again")["ok"]  # one drop only


def test_drops_count_only_executed_calls(
    fake_slack: FakeSlackAPI, no_retry_client: WebClient
) -> None:
    fake_slack.drop_response("chat.postMessage", times=2)
    fake_slack.fail_next("chat.postMessage", retry_after=1)
    assert error_of(no_retry_client.chat_postMessage, channel="C1", text="limited") == "ratelimited"
    for text in ("a", "b"):
        with pytest.raises(http.client.RemoteDisconnected):
            no_retry_client.chat_postMessage(channel="C1", text=text)
    assert no_retry_client.chat_postMessage(channel="C1", text="c")["ok"]
    assert [m["text"] for m in fake_slack.messages("C1")] == ["a", "b", "c"]
    fake_slack.drop_response("auth.test")
    fake_slack.reset(keep_state=True)  # keeps messages...
    fake_slack.reset()  # ...a full reset forgets pending drops
    assert no_retry_client.auth_test()["ok"]


def test_the_sdk_default_retry_would_post_twice_after_a_drop(fake_slack: FakeSlackAPI) -> None:
    """Why the progress sender uses a client without retry handlers."""
    default = WebClient(token=TOKEN, base_url=fake_slack.base_url)  # retries connection errors
    fake_slack.drop_response("chat.postMessage")
    assert default.chat_postMessage(channel="U1", text="nudge")["ok"]
    assert [m["text"] for m in fake_slack.messages("DU1")] == ["nudge", "nudge"]
