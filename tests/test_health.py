"""GET /health/ and GET /metrics with deliveries and notifications in known states."""

from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Notification
from outbox.models import Delivery
from outbox.publisher import publish
from outbox.registry import subscriber
from sharebook import health
from tests.books.moderating import share_at
from tests.books.sharing import post_share, share_data
from tests.factories import make_user

pytestmark = pytest.mark.django_db
State = Delivery.State


@subscriber("health.checked", name="health.first")
def first(event):
    pass


@subscriber("health.checked", name="health.second")
def second(event):
    pass


def publish_deliveries(count: int) -> list[Delivery]:
    """``count`` events with one delivery to each of health.first and .second."""
    with transaction.atomic():
        events = [publish("health.checked", {"n": n}) for n in range(count)]
    return list(Delivery.objects.filter(event__in=events).order_by("id"))


def set_state(deliveries, subscriber_name: str, state: str, **fields) -> None:
    ids = [d.pk for d in deliveries if d.subscriber == subscriber_name]
    Delivery.objects.filter(pk__in=ids).update(state=state, **fields)


def get_health():
    response = Client().get("/health/")
    return response.status_code, response.json()


def test_an_idle_outbox_is_healthy():
    status, body = get_health()

    assert status == 200
    assert body == {
        "status": "ok",
        "database": "ok",
        "outbox": {"lag_s": None, "dead": 0, "max_lag_s": 300.0},
    }


def test_lag_is_the_age_of_the_oldest_due_delivery(settings):
    settings.HEALTH = {"MAX_LAG_S": 600}
    now = timezone.now()
    deliveries = publish_deliveries(2)
    Delivery.objects.filter(pk=deliveries[0].pk).update(
        available_at=now - timedelta(seconds=120)
    )
    # Waiting for a retry an hour from now: not late, so not lag.
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries[1:]]).update(
        available_at=now + timedelta(hours=1)
    )

    status, body = get_health()

    assert status == 200
    assert body["status"] == "ok"
    assert 120 <= body["outbox"]["lag_s"] < 130


def test_lag_past_the_threshold_answers_503(settings):
    settings.HEALTH = {"MAX_LAG_S": 60}
    deliveries = publish_deliveries(1)
    Delivery.objects.filter(pk=deliveries[0].pk).update(
        available_at=timezone.now() - timedelta(seconds=90)
    )

    status, body = get_health()

    assert status == 503
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert 90 <= body["outbox"]["lag_s"] < 100


def test_dead_deliveries_are_counted_but_do_not_fail_the_check():
    deliveries = publish_deliveries(3)
    set_state(deliveries, "health.first", State.DEAD)
    set_state(deliveries, "health.second", State.DONE)

    status, body = get_health()

    assert status == 200
    assert body["outbox"] == {"lag_s": None, "dead": 3, "max_lag_s": 300.0}


def test_an_unreachable_database_answers_503(monkeypatch):
    def fail():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "check_database", fail)

    status, body = get_health()

    assert status == 503
    assert body == {
        "status": "degraded",
        "database": "error",
        "outbox": {"lag_s": None, "dead": None, "max_lag_s": 300.0},
    }


def scrape() -> dict:
    """The samples of GET /metrics, by name and sorted labels."""
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def deliveries_of(samples: dict, subscriber_name: str) -> dict[str, float]:
    return {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "sharebook_outbox_deliveries"
        and dict(labels)["subscriber"] == subscriber_name
    }


def test_metrics_count_deliveries_by_subscriber_and_state():
    deliveries = publish_deliveries(4)
    first_ones = [d for d in deliveries if d.subscriber == "health.first"]
    set_state(first_ones[:1], "health.first", State.DEAD)
    set_state(first_ones[1:3], "health.first", State.DONE, done_at=timezone.now())
    set_state(
        deliveries,
        "health.second",
        State.RUNNING,
        leased_until=timezone.now() + timedelta(minutes=5),
    )
    Delivery.objects.filter(pk=first_ones[3].pk).update(
        available_at=timezone.now() - timedelta(seconds=42)
    )

    samples = scrape()

    assert deliveries_of(samples, "health.first") == {
        "dead": 1,
        "done": 2,
        "pending": 1,
    }
    assert deliveries_of(samples, "health.second") == {"running": 4}
    assert 42 <= samples[("sharebook_outbox_lag_seconds", ())] < 52


def test_metrics_count_notifications_by_status():
    book = share_at()
    now = timezone.now()
    for username, status in [("a", "sent"), ("b", "failed"), ("c", "pending")]:
        Notification.objects.create(
            recipient=make_user(f"{username}-recipient"),
            book=book,
            event_id=1,
            title="t",
            body="b",
            status=status,
            next_attempt_at=now,
        )

    samples = scrape()

    by_status = {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "sharebook_notifications"
    }
    assert by_status == {"sent": 1, "failed": 1, "pending": 1}
    assert samples[("sharebook_outbox_lag_seconds", ())] >= 0


def test_metrics_count_and_time_share_requests(client):
    before = scrape()

    assert post_share(client, share_data()).status_code == 201
    assert post_share(client, share_data(latitude="91")).status_code == 400
    client.get("/api/books/")

    after = scrape()

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("sharebook_share_requests_total", status="201") == 1
    assert grew("sharebook_share_requests_total", status="400") == 1
    assert grew("sharebook_share_request_seconds_count") == 2
    assert grew("sharebook_share_request_seconds_bucket", le="+Inf") == 2
    assert 0 < grew("sharebook_share_request_seconds_sum") < 10
