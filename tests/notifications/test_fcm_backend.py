"""The FCM HTTP v1 backend against a loopback FCM and OAuth token endpoint."""

import json
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.backends import Outcome, PushMessage, get_backend
from notifications.backends.fcm import FcmBackend
from notifications.conf import get_settings
from tests.notifications.peers import Reply, fcm_outage


def message(token: str, number: int = 1, title: str = "New book near you: Dune"):
    return PushMessage(
        notification_id=number,
        platform="fcm",
        token=token,
        title=title,
        body="Dune by Frank Herbert",
        data={"book_id": "7", "notification_id": str(number)},
    )


def test_a_message_goes_out_as_fcm_documents_it(fcm):
    results = FcmBackend().send([message("token-a")])

    assert [r.outcome for r in results] == [Outcome.SENT]
    assert fcm.problems == []
    assert fcm.delivered == [
        {
            "token": "token-a",
            "notification": {
                "title": "New book near you: Dune",
                "body": "Dune by Frank Herbert",
            },
            "data": {"book_id": "7", "notification_id": "1"},
        }
    ]


def test_the_access_token_is_fetched_once_and_reused(fcm):
    backend = FcmBackend()

    backend.send([message("token-a")])
    backend.send([message("token-b"), message("token-c")])

    assert len(fcm.issued) == 1
    assert fcm.delivered_tokens() == ["token-a", "token-b", "token-c"]


def test_a_revoked_access_token_is_replaced_at_the_next_batch(fcm):
    backend = FcmBackend()
    backend.send([message("token-a")])
    fcm.revoked.add(fcm.issued[0])

    refused = backend.send([message("token-b")])
    again = backend.send([message("token-b")])

    assert refused[0].outcome == Outcome.RETRY
    assert refused[0].reason.startswith("UNAUTHENTICATED")
    assert again[0].outcome == Outcome.SENT
    assert len(fcm.issued) == 2


def test_a_batch_of_500_is_sent_concurrently_with_one_result_each(fcm, configure):
    configure(concurrency=8)
    tokens = [f"token-{n}" for n in range(500)]
    fcm.answers.update({"token-7": "unregistered", "token-300": "too_big"})
    seen_threads = set()
    original = FcmBackend.send_one

    def spy(self, message, token):
        seen_threads.add(threading.current_thread().name)
        return original(self, message, token)

    backend = FcmBackend()
    FcmBackend.send_one = spy
    try:
        results = backend.send([message(t, n) for n, t in enumerate(tokens)])
    finally:
        FcmBackend.send_one = original

    outcomes = [r.outcome for r in results]
    assert outcomes[7] == Outcome.UNREGISTERED
    assert outcomes[300] == Outcome.REJECTED
    assert outcomes.count(Outcome.SENT) == 498
    assert len(fcm.delivered) == 498
    assert 1 < len(seen_threads) <= 8
    assert FcmBackend.max_batch == 500


@pytest.mark.parametrize(
    "answer, outcome, reason, retry_after",
    [
        ("unregistered", Outcome.UNREGISTERED, "UNREGISTERED", None),
        ("sender_mismatch", Outcome.UNREGISTERED, "SENDER_ID_MISMATCH", None),
        ("invalid_token", Outcome.UNREGISTERED, "INVALID_ARGUMENT", None),
        ("too_big", Outcome.REJECTED, "INVALID_ARGUMENT", None),
        ("quota", Outcome.RETRY, "QUOTA_EXCEEDED", 120),
        ("unavailable", Outcome.RETRY, "UNAVAILABLE", 60),
        ("internal", Outcome.RETRY, "INTERNAL", None),
    ],
)
def test_fcm_errors_map_to_outcomes(fcm, answer, outcome, reason, retry_after):
    fcm.answers["token-x"] = answer

    (result,) = FcmBackend().send([message("token-x")])

    assert result.outcome == outcome
    assert result.reason.startswith(reason)
    assert result.retry_after_s == retry_after


def test_an_outage_stops_the_batch_after_one_round_of_requests(fcm, configure):
    configure(concurrency=4)
    fcm.outage = fcm_outage("90")  # FCM is down, its token endpoint is not
    backend = FcmBackend()
    before = len(fcm.requests)

    results = backend.send([message(f"token-{n}") for n in range(100)])

    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert {r.retry_after_s for r in results} == {90}
    assert all(r.unavailable for r in results)
    sends = [r for r in fcm.requests[before:] if r.path != "/token"]
    assert 1 <= len(sends) <= 4


def test_a_provider_slower_than_the_timeout_means_retry(fcm, configure):
    configure(timeout_s=0.2, concurrency=1)
    backend = FcmBackend()
    backend.get_access_token()
    fcm.delay_s = 0.5

    results = backend.send([message("token-a"), message("token-b")])

    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY]
    assert "Timeout" in results[0].reason
    assert results[1].reason.startswith("Not tried")


def test_no_access_token_means_retry_for_all(fcm):
    # The service account's key was disabled, say.
    error = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    fcm.token_outage = Reply(400, error)

    results = FcmBackend().send([message("token-a"), message("token-b")])

    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert results[0].reason.startswith("No FCM access token")
    assert fcm.delivered == []


def test_missing_or_broken_credentials_are_refused_at_startup(configure, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"type": "service_account", "project_id": "p"}))

    for path in (str(tmp_path / "missing.json"), str(broken)):
        configure(fcm_credentials=path)
        with pytest.raises(ImproperlyConfigured, match="NOTIFICATIONS_FCM_CREDENTIALS"):
            FcmBackend(get_settings())


def test_the_project_comes_from_the_service_account_unless_set(fcm, configure):
    assert get_backend().providers["fcm"].url == (
        f"{fcm.url}/v1/projects/sharebook-test/messages:send"
    )

    configure(fcm_project_id="other-project")

    assert (
        get_backend()
        .providers["fcm"]
        .url.endswith("/projects/other-project/messages:send")
    )
