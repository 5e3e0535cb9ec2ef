"""Operating in the admin: outbox, notifications, devices and places stay fast."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Device, Notification
from outbox.models import Delivery, Event
from outbox.publisher import publish
from tests.books.moderating import share_at
from tests.factories import make_listener, make_place, make_user

pytestmark = pytest.mark.django_db

LISTS = [
    "/admin/outbox/delivery/",
    "/admin/outbox/event/",
    "/admin/notifications/notification/",
    "/admin/notifications/device/",
    "/admin/notifications/notificationpreference/",
    "/admin/places/place/",
    "/admin/books/book/",
    "/admin/books/report/",
]


def some_of_everything() -> None:
    make_listener(0.01, 0, username="reader")
    share_at(title="Dune")
    with transaction.atomic():
        publish("book.shared", {"book_id": 0})


@pytest.mark.parametrize("url", LISTS)
def test_no_list_counts_or_reads_a_whole_table(staff, url):
    some_of_everything()

    with CaptureQueriesContext(connection) as queries:
        response = staff.get(url)

    assert response.status_code == 200
    for query in queries:
        sql = query["sql"]
        assert "DISTINCT" not in sql.upper(), sql
        if sql.startswith("SELECT COUNT("):
            # A capped count, or the dead deliveries through their index.
            assert "LIMIT" in sql or "'dead'" in sql, sql


@pytest.mark.parametrize("url", LISTS)
def test_no_list_offers_a_bulk_delete(staff, url):
    some_of_everything()

    assert "delete_selected" not in staff.get(url).content.decode()


def test_deliveries_show_how_long_they_waited_and_the_outbox_lag(staff):
    with transaction.atomic():
        event = publish("book.shared", {"book_id": 0})
    late = timezone.now() - timedelta(minutes=5)
    Delivery.objects.filter(event=event).update(available_at=late)

    page = staff.get("/admin/outbox/delivery/").content.decode()

    assert "Oldest due delivery: waiting 5 min. Dead: 0." in page
    assert '<td class="field-waiting">5 min</td>' in page


def test_deliveries_filter_by_registered_subscriber_and_topic(staff):
    share_at(title="Dune")

    page = staff.get("/admin/outbox/delivery/?subscriber=places.store_distances")
    text = page.content.decode()

    assert "?subscriber=notifications.announce" in text
    assert "topic=book.shared" in text
    assert text.count('<td class="field-subscriber">') == 1
    assert '<td class="field-subscriber">places.store_distances</td>' in text


def test_an_event_shows_its_payload_readably(staff):
    with transaction.atomic():
        event = publish("book.shared", {"book_id": 7, "title": "L'Étranger"})

    page = staff.get(f"/admin/outbox/event/{event.pk}/change/").content.decode()

    assert "&quot;title&quot;: &quot;L&#x27;Étranger&quot;" in page


def test_deleting_an_event_counts_its_deliveries(staff):
    with transaction.atomic():
        event = publish("book.shared", {"book_id": 0})

    page = staff.get(f"/admin/outbox/event/{event.pk}/delete/").content.decode()

    deliveries = Delivery.objects.filter(event=event).count()
    assert f"<li>Deliveries: {deliveries}</li>" in page
    assert "&lt;- event" not in page
    assert Event.objects.count() == 1


def test_notifications_show_the_provider_reason_and_are_sent_again(staff):
    make_listener(0.01, 0, username="reader")
    book = share_at(title="Dune")
    notification = Notification.objects.create(
        recipient=make_user(),
        book=book,
        event_id=1,
        title="New book near you: Dune",
        body="Dune by Frank Herbert",
        status=Notification.Status.FAILED,
        last_error="INVALID_ARGUMENT: payload too large",
        next_attempt_at=timezone.now(),
    )

    page = staff.get("/admin/notifications/notification/?status__exact=failed")
    assert "INVALID_ARGUMENT: payload too large" in page.content.decode()
    staff.post(
        "/admin/notifications/notification/",
        {"action": "send_selected_again", "_selected_action": [notification.pk]},
    )

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    stored = Event.objects.filter(topic="notifications.stored")
    assert list(stored.values_list("payload", flat=True)) == [{"book_id": book.pk}]


def test_devices_show_masked_tokens_and_deleting_one_cancels_its_pushes(staff):
    reader = make_listener(0.01, 0, username="reader")
    device = Device.objects.get(user=reader)
    Device.objects.filter(pk=device.pk).update(token="secret-token-of-the-reader")
    book = share_at(title="Dune")
    waiting = Notification.objects.create(
        recipient=reader,
        device=device,
        book=book,
        event_id=1,
        title="t",
        body="b",
        next_attempt_at=timezone.now(),
    )

    page = staff.get("/admin/notifications/device/").content.decode()
    assert "secret…ader" in page and "secret-token-of-the-reader" not in page
    staff.post(f"/admin/notifications/device/{device.pk}/delete/", {"post": "yes"})

    waiting.refresh_from_db()
    assert not Device.objects.filter(pk=device.pk).exists()
    assert (waiting.status, waiting.device_id) == ("cancelled", None)


def test_deleting_a_place_counts_its_distances_and_names_what_protects_it(staff):
    empty = make_place(10, 10, name="Empty")
    used = share_at(title="Dune").place

    empty_page = staff.get(f"/admin/places/place/{empty.pk}/delete/").content.decode()
    used_page = staff.get(f"/admin/places/place/{used.pk}/delete/").content.decode()

    assert "Are you sure" in empty_page
    assert "would require deleting the following protected" in used_page
    assert "book: Dune by Frank Herbert" in used_page
