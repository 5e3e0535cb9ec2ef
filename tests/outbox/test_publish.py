import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_q.models import OrmQ, Schedule

from outbox import publisher
from outbox.apps import SWEEP_SCHEDULE, ensure_sweep_schedule
from outbox.conf import OutboxSettings, check_settings
from outbox.exceptions import NotInTransaction
from outbox.models import Delivery, Event
from outbox.publisher import publish
from tests.conftest import run_manage


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(NotInTransaction):
        publish("test.ok", {})

    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_publish_creates_one_delivery_per_subscriber_and_rolls_back_with_caller():
    with transaction.atomic():
        event = publish("book.shared", {"book_id": 1}, key="book:1")

    with pytest.raises(RuntimeError), transaction.atomic():
        publish("book.shared", {"book_id": 2})
        raise RuntimeError("the caller's change failed")

    assert list(Event.objects.values_list("id", "topic", "key", "payload")) == [
        (event.pk, "book.shared", "book:1", {"book_id": 1})
    ]
    assert sorted(Delivery.objects.values_list("subscriber", "state")) == [
        ("books.make_thumbnails", Delivery.State.PENDING),
        ("notifications.announce", Delivery.State.PENDING),
    ]


@pytest.mark.django_db
def test_event_without_subscribers_is_kept_without_deliveries():
    with transaction.atomic():
        event = publish("nobody.listens", {"x": 1})

    assert Event.objects.filter(pk=event.pk).exists()
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_nudges_are_coalesced_within_the_interval(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX = {**settings.OUTBOX, "NUDGE_INTERVAL_S": 60}
    enqueued = []
    monkeypatch.setattr(publisher, "enqueue_drain", lambda: enqueued.append(1))

    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            publish("test.ok", {})

    assert enqueued == [1]


@pytest.mark.django_db
def test_nudge_enqueues_a_drain_task_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish("test.ok", {})
    assert OrmQ.objects.count() == 0

    for callback in callbacks:
        callback()

    tasks = [task.task for task in OrmQ.objects.all()]
    assert [task["func"] for task in tasks] == [publisher.DRAIN_TASK]


@pytest.mark.django_db
def test_sweep_schedule_exists_once_after_migrate():
    ensure_sweep_schedule(sender=None)
    ensure_sweep_schedule(sender=None)

    schedules = Schedule.objects.filter(name=SWEEP_SCHEDULE)
    assert schedules.count() == 1
    sweep = schedules.get()
    assert sweep.func == "outbox.tasks.sweep_outbox"
    assert sweep.schedule_type == Schedule.MINUTES
    assert sweep.minutes == 1
    assert sweep.repeats == -1


@pytest.mark.parametrize(
    ("q_cluster", "outbox", "message"),
    [
        ({"timeout": 60, "retry": 60}, {}, "must be greater than"),
        ({"timeout": 60, "retry": 30}, {}, "must be greater than"),
        ({"timeout": 60, "retry": 120}, {"drain_budget_s": 60}, "drain budget"),
        ({"timeout": 60, "retry": 120}, {"drain_budget_s": 0}, "drain budget"),
        ({"timeout": 60, "retry": 120}, {"drain_budget_s": 30, "lease_s": 59}, "lease"),
        ({"retry": 120}, {}, "timeout"),
        ({"timeout": 60, "retry": 120}, {"backoff_base_s": float("nan")}, "BACKOFF"),
        ({"timeout": 60, "retry": 120}, {"backoff_base_s": -1}, "BACKOFF"),
        ({"timeout": 60, "retry": 120}, {"backoff_base_s": 700}, "BACKOFF"),
    ],
)
def test_unsafe_cluster_settings_are_refused(q_cluster, outbox, message):
    conf = OutboxSettings(**{"drain_budget_s": 30, "lease_s": 300, **outbox})

    with pytest.raises(ImproperlyConfigured, match=message):
        check_settings(conf, q_cluster)


def test_safe_cluster_settings_pass():
    check_settings(
        OutboxSettings(drain_budget_s=30, lease_s=300), {"timeout": 60, "retry": 90}
    )


@pytest.mark.django_db
def test_qcluster_refuses_to_start_when_retry_is_not_above_timeout(settings):
    result = run_manage(settings, "qcluster", timeout=60, Q_TIMEOUT="60", Q_RETRY="60")

    assert result.returncode != 0
    assert "must be greater than Q_CLUSTER['timeout'] (60 s)" in result.stderr
    assert "Set Q_RETRY above Q_TIMEOUT" in result.stderr


@pytest.mark.django_db
def test_no_second_drain_is_queued_while_one_waits(settings):
    settings.OUTBOX = {**settings.OUTBOX, "NUDGE_INTERVAL_S": 0}

    publisher.nudge_relay()
    publisher.nudge_relay()

    assert OrmQ.objects.count() == 1


@pytest.mark.django_db
def test_inline_mode_runs_handlers_in_the_request_after_commit(
    settings, django_capture_on_commit_callbacks
):
    from tests.outbox import handlers

    settings.OUTBOX = {**settings.OUTBOX, "INLINE": True}
    handlers.calls.clear()

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = publish("test.ok", {})
        assert handlers.calls == []  # not before the commit

    assert handlers.calls == [("ok", event.pk)]
    assert Delivery.objects.get(event=event).state == Delivery.State.DONE
    assert OrmQ.objects.count() == 0
