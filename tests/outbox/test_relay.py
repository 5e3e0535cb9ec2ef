from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from outbox import claims, relay
from outbox.models import Delivery
from outbox.publisher import publish
from places.models import Place
from tests.outbox import handlers

State = Delivery.State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reset_calls():
    handlers.calls.clear()


@pytest.fixture
def outbox_settings(settings):
    settings.OUTBOX = {**settings.OUTBOX, "MAX_ATTEMPTS": 3, "BACKOFF_BASE_S": 4}
    return settings.OUTBOX


def publish_one(topic: str, payload: dict | None = None) -> Delivery:
    with transaction.atomic():
        event = publish(topic, payload or {})
    return Delivery.objects.get(event=event)


def make_due(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(available_at=timezone.now())


def test_claim_leases_due_deliveries_once():
    first = publish_one("test.ok")
    second = publish_one("test.ok")

    claim = claims.claim_batch()
    again = claims.claim_batch()

    assert [d.pk for d in claim.deliveries] == [first.pk, second.pk]
    assert again.deliveries == []
    for delivery in claim.deliveries:
        assert delivery.state == State.RUNNING
        assert delivery.attempts == 1
        assert delivery.lease_token == claim.token
        lease = (delivery.leased_until - timezone.now()).total_seconds()
        assert 290 < lease <= 300


def test_claim_respects_batch_size_and_due_time():
    due = [publish_one("test.ok") for _ in range(3)]
    later = publish_one("test.ok")
    Delivery.objects.filter(pk=later.pk).update(
        available_at=timezone.now() + timedelta(minutes=5)
    )

    batch = claims.claim_batch(limit=2).deliveries
    rest = claims.claim_batch(limit=10).deliveries

    assert [d.pk for d in batch] == [due[0].pk, due[1].pk]
    assert [d.pk for d in rest] == [due[2].pk]


def test_drain_runs_handler_and_marks_done():
    delivery = publish_one("test.ok")

    stats = relay.drain(budget_s=10)

    delivery.refresh_from_db()
    assert stats.done == 1
    assert handlers.calls == [("ok", delivery.event_id)]
    assert delivery.state == State.DONE
    assert delivery.done_at is not None
    assert delivery.lease_token is None


def test_failure_rolls_back_handler_writes_and_backs_off(outbox_settings):
    delivery = publish_one("test.fail")
    before = timezone.now()

    stats = relay.drain(budget_s=10)

    delivery.refresh_from_db()
    assert stats.failed == 1
    assert Place.objects.filter(name="half-done").count() == 0
    assert delivery.state == State.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == f"ValueError: cannot handle event {delivery.event_id}"
    assert "handle_fail" in delivery.last_traceback
    # First retry: between half of and the whole base delay (4 s).
    wait = (delivery.available_at - before).total_seconds()
    assert 2 <= wait <= 4.5


def test_backoff_doubles_and_is_capped(settings):
    settings.OUTBOX = {**settings.OUTBOX, "BACKOFF_BASE_S": 2, "BACKOFF_MAX_S": 60}
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (20, 60)]:
        waits = [relay.compute_backoff(attempts) for _ in range(200)]
        assert min(waits) >= ceiling / 2
        assert max(waits) <= ceiling
        # Jitter: retries of many deliveries spread out instead of colliding.
        assert len({round(w, 6) for w in waits}) > 150


def test_dead_after_max_attempts_while_others_flow(outbox_settings):
    poison = publish_one("test.fail")
    healthy = [publish_one("test.ok") for _ in range(3)]

    for _ in range(3):
        make_due(poison)
        relay.drain(budget_s=10)

    poison.refresh_from_db()
    assert poison.state == State.DEAD
    assert poison.attempts == 3
    assert poison.last_error.startswith("ValueError: cannot handle event")
    # Its writes never stuck, even when it first ran inside a batch of others.
    assert Place.objects.filter(name="half-done").count() == 0
    assert set(
        Delivery.objects.filter(pk__in=[d.pk for d in healthy]).values_list(
            "state", flat=True
        )
    ) == {State.DONE}

    make_due(poison)
    assert relay.drain(budget_s=10).handled == 0


def test_expired_lease_is_claimed_again_and_counts_as_attempt():
    delivery = publish_one("test.ok")
    first = claims.claim_batch()
    # The worker holding the lease dies; its lease runs out.
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )

    assert claims.claim_batch().deliveries == []
    suspect = claims.claim_suspect()

    assert [d.pk for d in suspect.deliveries] == [delivery.pk]
    assert suspect.token != first.token
    assert suspect.deliveries[0].attempts == 2
    assert suspect.deliveries[0].last_error == claims.LEASE_EXPIRED


def test_unexpired_lease_is_not_claimed_again():
    publish_one("test.ok")
    claims.claim_batch()

    assert claims.claim_batch().deliveries == []
    assert claims.claim_suspect().deliveries == []


def test_worker_that_lost_its_lease_does_not_run_the_handler():
    delivery = publish_one("test.ok")
    old = claims.claim_batch()
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    claims.claim_suspect()  # another relay takes it over

    assert relay.run_delivery(old.deliveries[0], old.token) is None
    assert handlers.calls == []
    delivery.refresh_from_db()
    assert delivery.state == State.RUNNING
    assert delivery.attempts == 2


def test_crash_on_last_attempt_ends_dead_without_running_again(outbox_settings):
    delivery = publish_one("test.ok")
    Delivery.objects.filter(pk=delivery.pk).update(
        state=State.RUNNING,
        attempts=3,
        leased_until=timezone.now() - timedelta(seconds=1),
    )

    stats = relay.drain(budget_s=10)

    delivery.refresh_from_db()
    assert stats.dead == 1
    assert handlers.calls == []
    assert delivery.state == State.DEAD
    assert delivery.attempts == 4
    assert delivery.last_error == claims.LEASE_EXPIRED


def test_retry_later_uses_the_handler_delay():
    delivery = publish_one("test.later")
    before = timezone.now()

    relay.drain(budget_s=10)

    delivery.refresh_from_db()
    assert delivery.state == State.PENDING
    wait = (delivery.available_at - before).total_seconds()
    assert 89 <= wait <= 91
    assert delivery.last_error == "RetryLater: provider asked us to wait"


def test_unknown_subscriber_is_retried_not_lost():
    delivery = publish_one("test.ok")
    Delivery.objects.filter(pk=delivery.pk).update(subscriber="gone.away")

    relay.drain(budget_s=10)

    delivery.refresh_from_db()
    assert delivery.state == State.PENDING
    assert "No subscriber is registered as 'gone.away'" in delivery.last_error


def test_release_gives_back_unstarted_deliveries_without_spending_attempts():
    deliveries = [publish_one("test.ok") for _ in range(2)]
    claim = claims.claim_batch()

    claims.release(claim.deliveries, claim.token)

    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.state == State.PENDING
        assert delivery.attempts == 0
        assert delivery.lease_token is None


def test_drain_with_spent_budget_claims_nothing():
    delivery = publish_one("test.ok")

    stats = relay.drain(budget_s=0)

    delivery.refresh_from_db()
    assert stats.handled == 0
    assert delivery.state == State.PENDING
    assert delivery.attempts == 0


def test_each_state_change_is_logged_with_the_event_ids(caplog):
    delivery = publish_one("test.ok")

    with caplog.at_level("DEBUG", logger="outbox"):
        relay.drain(budget_s=10)

    changes = [
        (r.getMessage(), r.event_id, r.topic, r.subscriber, r.attempt)
        for r in caplog.records
        if hasattr(r, "delivery_id")
    ]
    assert changes == [
        (f"delivery {delivery.pk} tests.ok -> running (attempt 1)",)
        + (delivery.event_id, "test.ok", "tests.ok", 1),
        (f"delivery {delivery.pk} tests.ok -> done (attempt 1)",)
        + (delivery.event_id, "test.ok", "tests.ok", 1),
    ]
