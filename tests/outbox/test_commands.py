import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from outbox.models import Delivery, Event
from outbox.publisher import publish

State = Delivery.State

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def publish_one(topic: str, **payload) -> Delivery:
    with transaction.atomic():
        event = publish(topic, payload)
    return Delivery.objects.get(event=event)


def test_status_counts_by_state_and_subscriber_with_lag():
    old = publish_one("test.ok")
    publish_one("test.ok")
    dead = publish_one("test.fail")
    Delivery.objects.filter(pk=old.pk).update(
        available_at=timezone.now() - timedelta(seconds=90)
    )
    Delivery.objects.filter(pk=dead.pk).update(state=State.DEAD)

    status = json.loads(run("status", "--json"))

    assert status["by_state"] == {"pending": 2, "dead": 1}
    assert status["by_subscriber"] == {
        "tests.ok": {"pending": 2},
        "tests.fail": {"dead": 1},
    }
    assert status["dead"] == 1
    assert 89 <= status["oldest_pending_s"] <= 100
    text = run("status")
    assert "tests.ok" in text and "pending=2" in text and "dead: 1" in text


def test_drain_runs_everything_due_in_the_foreground():
    deliveries = [publish_one("test.ok") for _ in range(3)]

    output = run("drain")

    assert "done=3" in output
    states = Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
    assert set(states.values_list("state", flat=True)) == {State.DONE}


def test_retry_requeues_dead_deliveries_by_filter():
    dead_ok = publish_one("test.ok")
    dead_fail = publish_one("test.fail")
    Delivery.objects.update(state=State.DEAD, attempts=10, last_error="boom")

    output = run("retry", "--subscriber", "tests.ok")

    assert output.strip() == "1 dead deliveries queued again."
    dead_ok.refresh_from_db()
    dead_fail.refresh_from_db()
    assert (dead_ok.state, dead_ok.attempts) == (State.PENDING, 0)
    assert dead_fail.state == State.DEAD
    assert run("retry", "--ids", str(dead_fail.pk)).startswith("1 ")
    assert run("retry", "--topic", "test.fail").startswith("0 ")


def test_kill_marks_pending_deliveries_dead_with_the_reason():
    delivery = publish_one("test.ok")

    run("kill", "--ids", str(delivery.pk), "--reason", "bad payload")

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == (State.DEAD, "bad payload")


def test_replay_delivers_past_events_again_as_new_events():
    original = publish_one("test.ok", n=1)
    run("drain")

    output = run("replay", "--topic", "test.ok", "--since", "1h")
    run("drain")

    assert output.strip() == "1 test.ok events replayed."
    replay = Event.objects.get(replay_of=original.event)
    assert (replay.topic, replay.payload) == ("test.ok", {"n": 1})
    assert Delivery.objects.get(event=replay).state == State.DONE
    # Replaying again replays the original only, not the replay.
    assert run("replay", "--topic", "test.ok", "--since", "1h").startswith("1 ")


def test_replay_refuses_an_unknown_subscriber():
    with pytest.raises(CommandError, match="does not subscribe"):
        run("replay", "--topic", "test.ok", "--since", "1h", "--subscriber", "nope")


def test_bad_durations_are_refused_with_a_message():
    with pytest.raises(CommandError, match="not a duration"):
        run("purge", "--older-than", "seven days")


def test_purge_deletes_old_done_deliveries_and_keeps_dead_ones():
    done = publish_one("test.ok")
    dead = publish_one("test.ok")
    recent = publish_one("test.ok")
    long_ago = timezone.now() - timedelta(days=30)
    Delivery.objects.filter(pk=done.pk).update(state=State.DONE, created_at=long_ago)
    Delivery.objects.filter(pk=dead.pk).update(state=State.DEAD, created_at=long_ago)
    Delivery.objects.filter(pk=recent.pk).update(state=State.DONE)
    Event.objects.filter(pk__in=[done.event_id, dead.event_id]).update(
        created_at=long_ago
    )

    assert run("purge", "--older-than", "7d").strip() == "1 deliveries purged."

    assert set(Delivery.objects.values_list("id", flat=True)) == {dead.pk, recent.pk}
    assert not Event.objects.filter(pk=done.event_id).exists()
    assert run("purge", "--older-than", "7d", "--dead").startswith("1 ")
    assert not Event.objects.filter(pk=dead.event_id).exists()


def test_kill_without_a_filter_is_refused():
    delivery = publish_one("test.ok")

    with pytest.raises(CommandError, match="Say which deliveries to kill"):
        run("kill")

    delivery.refresh_from_db()
    assert delivery.state == State.PENDING


def test_a_delivery_whose_relay_died_counts_in_the_lag():
    delivery = publish_one("test.ok")
    Delivery.objects.filter(pk=delivery.pk).update(
        state=State.RUNNING, leased_until=timezone.now() - timedelta(seconds=120)
    )

    status = json.loads(run("status", "--json"))

    assert 119 <= status["oldest_pending_s"] <= 130
