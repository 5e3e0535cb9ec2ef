"""Subscribers used by the outbox tests, on topics nothing else publishes."""

import os

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
