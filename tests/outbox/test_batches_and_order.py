from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox import claims, operations, relay
from outbox.models import Delivery
from outbox.publisher import publish
from places.models import Place
from tests.outbox import handlers

State = Delivery.State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reset_calls():
    handlers.calls.clear()


def publish_one(topic: str, key: str = "", **payload) -> Delivery:
    with transaction.atomic():
        event = publish(topic, payload, key=key)
    return Delivery.objects.get(event=event)


def test_a_failure_in_a_batch_is_charged_to_its_own_delivery_only():
    healthy_before = publish_one("test.ok")
    poison = publish_one("test.fail")
    healthy_after = publish_one("test.ok")

    stats = relay.drain(budget_s=10)

    assert (stats.done, stats.failed) == (2, 1)
    states = dict(Delivery.objects.values_list("id", "state"))
    assert states == {
        healthy_before.pk: State.DONE,
        poison.pk: State.PENDING,
        healthy_after.pk: State.DONE,
    }
    assert Delivery.objects.get(pk=healthy_after.pk).attempts == 1
    assert Place.objects.filter(name="half-done").count() == 0


def count_drain_queries(deliveries: int) -> int:
    for _ in range(deliveries):
        publish_one("test.ok")
    with CaptureQueriesContext(connection) as queries:
        stats = relay.drain(budget_s=10)
    assert stats.done == deliveries
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_its_size():
    """Atomic handlers of a batch commit together: not a query per delivery."""
    assert count_drain_queries(2) == count_drain_queries(45)
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.DONE}
    assert len(handlers.calls) == 47


def test_suspects_are_claimed_one_at_a_time():
    for _ in range(3):
        publish_one("test.ok")
    claims.claim_batch()
    Delivery.objects.update(leased_until=timezone.now() - timedelta(seconds=1))

    first = claims.claim_suspect()
    second = claims.claim_suspect()

    assert len(first.deliveries) == len(second.deliveries) == 1
    assert first.deliveries[0].pk != second.deliveries[0].pk
    assert Delivery.objects.filter(attempts=2).count() == 2


def test_non_atomic_handler_runs_and_is_marked_done():
    delivery = publish_one("test.outside")

    assert relay.drain(budget_s=10).done == 1

    delivery.refresh_from_db()
    assert delivery.state == State.DONE
    assert handlers.calls == [("outside", delivery.event_id)]


def ordered_calls(*deliveries: Delivery) -> list[int]:
    wanted = {d.event_id for d in deliveries}
    return [e for name, e in handlers.calls if name == "ordered" and e in wanted]


def test_ordered_subscriber_gets_one_key_at_a_time_in_publish_order():
    a1 = publish_one("test.ordered", key="a")
    b1 = publish_one("test.ordered", key="b")
    a2 = publish_one("test.ordered", key="a")
    a3 = publish_one("test.ordered", key="a")
    b2 = publish_one("test.ordered", key="b")

    first = claims.claim_batch()

    # Only the head of each key may run; the rest wait for it.
    assert [d.pk for d in first.deliveries] == [a1.pk, b1.pk]
    assert claims.claim_batch().deliveries == []

    relay.run_claim(first, deadline=float("inf"), stats=relay.DrainStats())
    relay.drain(budget_s=10)

    assert ordered_calls(a1, a2, a3) == [a1.event_id, a2.event_id, a3.event_id]
    assert ordered_calls(b1, b2) == [b1.event_id, b2.event_id]
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.DONE}


def test_a_failing_ordered_delivery_holds_back_only_its_own_key():
    stuck = publish_one("test.ordered", key="a", fail=True)
    waiting = publish_one("test.ordered", key="a")
    other = publish_one("test.ordered", key="b")

    relay.drain(budget_s=10)
    Delivery.objects.filter(pk=stuck.pk).update(available_at=timezone.now())
    relay.drain(budget_s=10)

    states = dict(Delivery.objects.values_list("id", "state"))
    assert states[stuck.pk] == State.PENDING
    assert Delivery.objects.get(pk=stuck.pk).attempts == 2
    assert states[waiting.pk] == State.PENDING
    assert Delivery.objects.get(pk=waiting.pk).attempts == 0
    assert states[other.pk] == State.DONE


def test_a_dead_ordered_delivery_holds_its_key_until_retried():
    stuck = publish_one("test.ordered", key="a", fail=True)
    waiting = publish_one("test.ordered", key="a")
    Delivery.objects.filter(pk=stuck.pk).update(state=State.DEAD)

    relay.drain(budget_s=10)
    assert Delivery.objects.get(pk=waiting.pk).state == State.PENDING

    operations.retry_deliveries(Delivery.objects.filter(pk=stuck.pk))
    stuck.refresh_from_db()
    assert (stuck.state, stuck.attempts) == (State.PENDING, 0)
