"""Two clusters on Redis work through a burst; one is killed and restarted mid-run.

Shares with real handlers (distances, fan-out, sending) go through the
clusters beside thousands of ledger events, whose handler writes a row keyed
by its event: running one twice would break the primary key and show up as a
failure, missing one leaves a gap. Killing a cluster with SIGKILL takes its
sentinel, pusher and workers at once, as losing its machine would; what it
held comes back when its leases run out.
"""

import time

import pytest
from django.db.models import Q
from django.utils import timezone

from books.services import PlaceInput, share_book
from notifications.models import Notification
from outbox import publisher
from outbox.models import Delivery, Event
from places.models import Distance, Place
from tests.conftest import is_postgres
from tests.e2e.conftest import FAST_CLUSTER_ENV
from tests.factories import make_listener, make_place, make_user
from tests.outbox.handlers import ledger_rows

pytestmark = pytest.mark.django_db(transaction=True)

State = Delivery.State

LEDGER_EVENTS = 3000
BOOKS = 30
READERS = 10
# Near Zurich, all within a few kilometres of each other and of the readers.
ORIGIN = (47.37, 8.54)


def seed_ledger(count: int) -> list[int]:
    """Events for the ledger handler, published in bulk as a burst would be."""
    events = Event.objects.bulk_create(
        Event(topic="test.ledger", payload={"sleep": 0.002}) for _ in range(count)
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        (
            Delivery(event=e, subscriber="tests.ledger", available_at=now)
            for e in events
        ),
        batch_size=1000,
    )
    return [event.pk for event in events]


def share_books(count: int) -> list[int]:
    sharer = make_user("sharer")
    books = []
    for n in range(count):
        place = PlaceInput(latitude=ORIGIN[0] + n / 1000, longitude=ORIGIN[1])
        books.append(share_book(sharer, title=f"Book {n}", author="A", place=place))
    return [book.pk for book in books]


def unfinished() -> int:
    return Delivery.objects.filter(state__in=[State.PENDING, State.RUNNING]).count()


def nudge_until(condition, timeout_s: float, what: str) -> None:
    """Ask for drains through Redis, as busy web processes would, until done."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        publisher.enqueue_drain()
        time.sleep(0.1)


def test_two_clusters_on_redis_handle_every_event_once_across_a_kill(
    ledger, redis_url, start_cluster
):
    neighbour = make_place(ORIGIN[0] - 0.01, ORIGIN[1], name="neighbour")
    for n in range(READERS):
        make_listener(ORIGIN[0], ORIGIN[1] + n / 1000, username=f"reader{n}")
    book_ids = share_books(BOOKS)
    ledger_ids = seed_ledger(LEDGER_EVENTS)
    env = {
        "REDIS_URL": redis_url,
        "OUTBOX_HANDLER_MODULES": "tests.outbox.handlers",
        **FAST_CLUSTER_ENV,
    }
    clusters = [start_cluster(**env) for _ in range(2)]

    nudge_until(lambda: len(ledger_rows()) >= LEDGER_EVENTS // 3, 60, "a third")
    clusters[0].kill()
    written_at_kill = len(ledger_rows())
    time.sleep(0.5)
    clusters[0].restart()
    nudge_until(lambda: unfinished() == 0, 60, "all deliveries finished")

    # The kill came with work left, and nothing was lost or repeated.
    assert written_at_kill < LEDGER_EVENTS
    if is_postgres():
        # Both of its workers run batches back to back, so it died with
        # claims in hand, taken again once their leases ran out. (On SQLite
        # the four workers take turns at the one write lock, and the killed
        # cluster often held none at that instant.)
        assert Delivery.objects.filter(attempts__gt=1).exists()
    assert ledger_rows() == sorted(ledger_ids)
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.DONE}
    repeated = Q(last_error__icontains="unique") | Q(last_error__icontains="duplicate")
    assert not Delivery.objects.filter(repeated).exists()

    # The shares' own effects: every distance once, every notification sent once.
    places = Place.objects.count()
    assert places == BOOKS + 1
    assert Distance.objects.count() == places * (places - 1)
    assert Distance.objects.filter(to_place=neighbour).count() == BOOKS
    sent = Notification.objects.filter(status=Notification.Status.SENT)
    assert sent.count() == BOOKS * READERS
    assert sorted(sent.values_list("book_id", flat=True).distinct()) == book_ids
    for cluster in clusters:
        assert cluster.is_running(), cluster.log()
