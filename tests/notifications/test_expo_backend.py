"""The Expo backend against a loopback Expo push service."""

import pytest

from notifications.backends import Outcome, PushMessage, get_backend
from notifications.backends.expo import ExpoBackend
from tests.notifications.conftest import LeftLoopback
from tests.notifications.peers import Reply, expo_errors


def expo_token(n: int) -> str:
    return f"ExponentPushToken[test{n:06d}]"


def message(token: str, number: int = 1) -> PushMessage:
    return PushMessage(
        notification_id=number,
        platform="expo",
        token=token,
        title="New book near you: Dune",
        body="Dune by Frank Herbert",
        data={"book_id": "7", "notification_id": str(number)},
    )


def test_messages_go_out_as_expo_documents_them(expo):
    results = ExpoBackend().send([message(expo_token(1)), message(expo_token(2), 2)])

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert expo.problems == []
    assert expo.batch_sizes == [2]
    assert expo.delivered[0] == {
        "to": expo_token(1),
        "title": "New book near you: Dune",
        "body": "Dune by Frank Herbert",
        "data": {"book_id": "7", "notification_id": "1"},
    }


def test_no_request_holds_more_than_100_messages(expo):
    messages = [message(expo_token(n), n) for n in range(250)]

    results = get_backend().send(messages)

    assert expo.batch_sizes == [100, 100, 50]
    assert [r.outcome for r in results] == [Outcome.SENT] * 250
    assert expo.problems == []


@pytest.mark.parametrize(
    "answer, outcome, reason",
    [
        ("unregistered", Outcome.UNREGISTERED, "DeviceNotRegistered"),
        ("too_big", Outcome.REJECTED, "MessageTooBig"),
        ("rate", Outcome.RETRY, "MessageRateExceeded"),
        ("credentials", Outcome.RETRY, "InvalidCredentials"),
    ],
)
def test_ticket_errors_concern_only_their_message(expo, answer, outcome, reason):
    expo.answers[expo_token(2)] = answer

    results = ExpoBackend().send([message(expo_token(n), n) for n in (1, 2, 3)])

    assert [r.outcome for r in results] == [Outcome.SENT, outcome, Outcome.SENT]
    assert results[1].reason.startswith(reason)
    assert expo.delivered_tokens() == [expo_token(1), expo_token(3)]


def test_a_request_refused_for_one_message_is_resent_one_by_one(expo):
    expo.answers[expo_token(2)] = "malformed"

    results = ExpoBackend().send([message(expo_token(n), n) for n in (1, 2, 3)])

    assert [r.outcome for r in results] == [
        Outcome.SENT,
        Outcome.REJECTED,
        Outcome.SENT,
    ]
    assert "VALIDATION_ERROR" in results[1].reason
    assert expo.batch_sizes == [3, 1, 1, 1]
    assert expo.delivered_tokens() == [expo_token(1), expo_token(3)]


@pytest.mark.parametrize("status", [429, 502, 503])
def test_overload_or_outage_retries_every_message_after_retry_after(expo, status):
    expo.outage = Reply(
        status, expo_errors("TOO_MANY_REQUESTS", "Slow down"), {"Retry-After": "45"}
    )

    results = ExpoBackend().send([message(expo_token(1)), message(expo_token(2))])

    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert {r.retry_after_s for r in results} == {45}
    assert all(r.unavailable for r in results)


def test_a_timeout_means_retry(expo, configure):
    configure(timeout_s=0.2)
    expo.delay_s = 0.5

    (result,) = ExpoBackend().send([message(expo_token(1))])

    assert result.outcome == Outcome.RETRY
    assert "Timeout" in result.reason


def test_the_access_token_is_sent_when_set(expo, configure):
    expo.access_token = "expo-secret"

    refused = ExpoBackend().send([message(expo_token(1))])
    configure(expo_access_token="expo-secret")
    accepted = ExpoBackend().send([message(expo_token(1))])

    assert refused[0].outcome == Outcome.RETRY
    assert accepted[0].outcome == Outcome.SENT


def test_a_backend_pointed_beyond_loopback_fails_the_test_loudly(
    configure, loopback_only
):
    configure(expo_url="https://exp.host/--/api/v2/push/send")

    with pytest.raises(LeftLoopback):
        ExpoBackend().send([message(expo_token(1))])

    assert loopback_only == ["exp.host"]
    loopback_only.clear()
