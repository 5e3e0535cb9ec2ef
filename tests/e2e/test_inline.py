"""Inline mode (OUTBOX_INLINE): the share request does all the background work.

The benchmark compares the share's latency with this mode, which stands for
the app's first design, so it must really do the whole chain before the
response: distances, fan-out, and sending, with nothing left for a relay.
"""

import pytest
from django_q.models import OrmQ
from rest_framework.test import APIClient

from notifications.models import Notification
from outbox.models import Delivery
from places.models import Distance
from tests.factories import jpeg_file, make_listener, make_place, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def inline(settings):
    settings.OUTBOX = {**settings.OUTBOX, "INLINE": True}


@pytest.fixture
def sharer_client():
    client = APIClient()
    client.force_authenticate(make_user("sharer"))
    return client


def share(client, **place) -> dict:
    form = {"title": "Dune", "author": "Frank Herbert", **place}
    form["pictures"] = [jpeg_file("cover.jpg")]
    response = client.post("/api/books/", form, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def deliveries() -> set[tuple[str, str, int]]:
    return set(Delivery.objects.values_list("subscriber", "state", "attempts"))


def test_a_share_at_a_new_place_is_done_when_the_response_comes(sharer_client):
    neighbour = make_place(0.0903, 0, name="neighbour")
    readers = [make_listener(0.05, 0, username=f"reader{n}") for n in range(3)]

    book = share(sharer_client, latitude="0", longitude="0")

    # Read right after the response: no relay ran, nothing was waited for.
    place_id = book["place"]["id"]
    assert Distance.objects.filter(from_place_id=place_id, to_place=neighbour).exists()
    assert Distance.objects.filter(from_place=neighbour, to_place_id=place_id).exists()
    sent = Notification.objects.filter(book_id=book["id"], status="sent")
    assert sorted(sent.values_list("recipient_id", flat=True)) == sorted(
        reader.pk for reader in readers
    )
    assert deliveries() == {
        ("books.make_thumbnails", "done", 1),
        ("places.store_distances", "done", 1),
        ("notifications.announce", "done", 1),
        ("notifications.send", "done", 1),
    }
    assert OrmQ.objects.count() == 0  # no drain was asked for


def test_notifications_beyond_one_batch_are_all_sent_in_the_request(
    settings, sharer_client
):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "BATCH_SIZE": 2}
    place = make_place(10, 10)
    for n in range(5):
        make_listener(10.01, 10, username=f"reader{n}")

    book = share(sharer_client, place=str(place.pk))

    statuses = Notification.objects.filter(book_id=book["id"]).values_list(
        "status", flat=True
    )
    assert list(statuses) == ["sent"] * 5
    assert deliveries() == {
        ("books.make_thumbnails", "done", 1),
        ("notifications.announce", "done", 1),
        ("notifications.send", "done", 1),
    }
    assert OrmQ.objects.count() == 0


def test_a_share_nobody_hears_about_leaves_nothing_pending(sharer_client):
    book = share(sharer_client, latitude="-45", longitude="170")

    assert not Notification.objects.filter(book_id=book["id"]).exists()
    assert deliveries() == {
        ("books.make_thumbnails", "done", 1),
        ("places.store_distances", "done", 1),
        ("notifications.announce", "done", 1),
    }
