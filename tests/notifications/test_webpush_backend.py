"""The Web Push backend against a loopback push service that decrypts payloads."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.backends import Outcome, PushMessage
from notifications.backends.webpush import WebPushBackend


def message(subscription: dict, number: int = 1, title="New book near you: Dune"):
    return PushMessage(
        notification_id=number,
        platform="webpush",
        token=subscription["endpoint"],
        title=title,
        body="L'Étranger — 初版 📚 by Albert Camus",
        data={"book_id": "7", "notification_id": str(number)},
        keys=subscription["keys"],
    )


def test_the_push_service_decrypts_what_was_sent(webpush):
    subscription = webpush.subscribe()

    (result,) = WebPushBackend().send([message(subscription)])

    assert result.outcome == Outcome.SENT, result.reason
    assert webpush.problems == []
    (text,) = webpush.received(subscription)
    assert json.loads(text) == {
        "title": "New book near you: Dune",
        "body": "L'Étranger — 初版 📚 by Albert Camus",
        "data": {"book_id": "7", "notification_id": "1"},
    }


def test_each_subscription_gets_only_its_own_message(webpush):
    subscriptions = [webpush.subscribe() for _ in range(5)]

    results = WebPushBackend().send(
        [message(s, n, title=f"book {n}") for n, s in enumerate(subscriptions)]
    )

    assert {r.outcome for r in results} == {Outcome.SENT}
    for n, subscription in enumerate(subscriptions):
        (text,) = webpush.received(subscription)
        assert json.loads(text)["title"] == f"book {n}"


@pytest.mark.parametrize(
    "answer, outcome, retry_after",
    [
        ("gone", Outcome.UNREGISTERED, None),
        ("not_found", Outcome.UNREGISTERED, None),
        ("too_big", Outcome.REJECTED, None),
        ("rate", Outcome.RETRY, 30),
        ("unavailable", Outcome.RETRY, 45),
    ],
)
def test_push_service_answers_map_to_outcomes(webpush, answer, outcome, retry_after):
    subscription = webpush.subscribe()
    webpush.answers[subscription["endpoint"].rsplit("/", 1)[1]] = answer

    (result,) = WebPushBackend().send([message(subscription)])

    assert result.outcome == outcome
    assert result.retry_after_s == retry_after
    assert webpush.problems == []


def test_an_endpoint_outside_the_allowed_push_services_is_not_called(webpush):
    subscription = {**webpush.subscribe(), "endpoint": "http://127.0.0.2:9/push/x"}
    before = len(webpush.requests)

    (result,) = WebPushBackend().send([message(subscription)])

    assert result.outcome == Outcome.REJECTED
    assert "127.0.0.2 is not a push service" in result.reason
    assert len(webpush.requests) == before


def test_keys_that_do_not_decode_reject_the_message_only(webpush):
    good = webpush.subscribe()
    bad = {**webpush.subscribe(), "keys": {"p256dh": "AAAA", "auth": "AAAA"}}

    results = WebPushBackend().send([message(bad), message(good, 2)])

    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.SENT]


@pytest.mark.parametrize(
    "key, subject",
    [("not-a-key", "mailto:push@sharebook.test"), ("", "mailto:a@b.c")],
)
def test_a_bad_vapid_key_is_refused_at_startup(webpush, configure, key, subject):
    configure(webpush_vapid_private_key=key, webpush_vapid_subject=subject)

    with pytest.raises(ImproperlyConfigured, match="VAPID"):
        WebPushBackend()


def test_a_vapid_subject_must_be_a_contact(webpush, configure):
    configure(webpush_vapid_subject="push@sharebook.test")

    with pytest.raises(ImproperlyConfigured, match="SUBJECT"):
        WebPushBackend()
