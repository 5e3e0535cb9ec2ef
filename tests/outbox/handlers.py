"""Subscribers used by the outbox tests, on topics nothing else publishes."""

import os
import time

from django.db import connection

from outbox.exceptions import RetryLater
from outbox.models import Event
from outbox.registry import subscriber
from places.models import Place

calls: list[tuple[str, int]] = []


@subscriber("test.ok", name="tests.ok")
def handle_ok(event: Event) -> None:
    calls.append(("ok", event.pk))


@subscriber("test.fail", name="tests.fail")
def handle_fail(event: Event) -> None:
    calls.append(("fail", event.pk))
    # A write that must be rolled back with the failed attempt.
    Place.objects.create(name="half-done", latitude=1.0, longitude=event.pk % 180)
    raise ValueError(f"cannot handle event {event.pk}")


@subscriber("test.later", name="tests.later")
def handle_later(event: Event) -> None:
    raise RetryLater("provider asked us to wait", delay_s=90)


@subscriber("test.crash", name="tests.crash")
def handle_crash(event: Event) -> None:
    # Dies like a worker killed mid-handler: no exception, no cleanup.
    os._exit(17)


@subscriber("test.ordered", name="tests.ordered", ordered=True)
def handle_in_order(event: Event) -> None:
    if event.payload.get("fail"):
        raise RuntimeError(f"event {event.pk} fails")
    calls.append(("ordered", event.pk))


@subscriber("test.outside", name="tests.outside", atomic=False)
def handle_outside(event: Event) -> None:
    calls.append(("outside", event.pk))


LEDGER = "outbox_test_ledger"


def write_ledger(event: Event) -> None:
    """One row per handled event: a second run would break the primary key."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {LEDGER} (event_id) VALUES (%s)", [event.pk])


@subscriber("test.ledger", name="tests.ledger")
def handle_ledger(event: Event) -> None:
    write_ledger(event)
    if event.payload.get("crash"):
        os._exit(17)
    time.sleep(event.payload.get("sleep", 0))


@subscriber("test.slow_outside", name="tests.slow_outside", atomic=False)
def handle_slow_outside(event: Event) -> None:
    write_ledger(event)
    time.sleep(event.payload.get("sleep", 0))


def ledger_rows() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id FROM {LEDGER} ORDER BY event_id")
        return [row[0] for row in cursor.fetchall()]
