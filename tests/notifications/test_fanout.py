import random
from datetime import timedelta
from math import cos, radians

import pytest
from django.db import transaction
from django.utils import timezone

from books.models import Book
from books.services import PlaceInput, share_book
from notifications import fanout
from notifications.backends import Outcome, PushResult
from notifications.fanout import is_within
from notifications.models import Device, Notification, NotificationPreference
from notifications.services import announce_book
from outbox.models import Delivery, Event
from places.geo import measure_m
from tests.conftest import run_relay_until_idle
from tests.factories import make_listener, make_user
from tests.notifications import scripted_backend
from tests.notifications.conftest import travel

pytestmark = pytest.mark.django_db
Status = Notification.Status


@pytest.fixture(autouse=True)
def scripted(settings):
    settings.NOTIFICATIONS = {
        **settings.NOTIFICATIONS,
        "BACKEND": "tests.notifications.scripted_backend.ScriptedBackend",
    }
    scripted_backend.answers.clear()
    scripted_backend.batches.clear()
    return scripted_backend


def share_at(owner, latitude=0.0, longitude=0.0, title="Dune") -> Book:
    return share_book(
        owner,
        title=title,
        author="Frank Herbert",
        place=PlaceInput(latitude=latitude, longitude=longitude),
    )


def sent_tokens(scripted) -> list[str]:
    return sorted(m.token for batch in scripted.batches for m in batch)


def test_c7_user_within_geodesic_radius_is_notified(scripted):
    inside = make_listener(0.0903, 0, radius_km=10, username="inside")  # 9.985 km
    make_listener(0.0905, 0, radius_km=10, username="outside")  # 10.007 km
    sharer = make_user("sharer")

    book = share_at(sharer)
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert notification.recipient == inside
    assert notification.book == book
    assert notification.status == Status.SENT
    assert notification.sent_at is not None
    assert notification.title == "New book near you: Dune"
    assert sent_tokens(scripted) == ["token-inside"]


def test_only_eligible_users_are_notified(scripted):
    sharer = make_listener(0, 0, username="sharer")
    make_listener(0.01, 0, username="eligible")
    quiet = make_listener(0.01, 0.01, username="quiet")
    NotificationPreference.objects.filter(user=quiet).update(enabled=False)
    inactive = make_listener(0.02, 0, username="inactive")
    Device.objects.filter(user=inactive).update(active=False)
    two_devices = make_listener(0.02, 0.02, username="two")
    Device.objects.create(user=two_devices, platform="expo", token="second-device")
    make_listener(0.5, 0, radius_km=50, username="wide")  # 55 km: beyond 50 km
    make_listener(0.3, 0, radius_km=50, username="far-but-wide")  # 33 km

    share_at(sharer)
    run_relay_until_idle()

    assert sent_tokens(scripted) == [
        "second-device",
        "token-eligible",
        "token-far-but-wide",
        "token-two",
    ]
    assert Notification.objects.filter(status=Status.SENT).count() == 4


def test_announcing_twice_stores_nothing_twice():
    make_listener(0.01, 0)
    book = share_at(make_user())
    run_relay_until_idle()
    event = Event.objects.get(topic="book.shared")

    with transaction.atomic():
        announce_book(event)

    assert Notification.objects.filter(book=book).count() == 1
    # Nothing new was stored, so nothing new is queued for sending.
    assert Event.objects.filter(topic="notifications.stored").count() == 1


def test_announcing_again_stores_only_devices_added_since(scripted):
    reader = make_listener(0.01, 0, username="reader")
    book = share_at(make_user())
    run_relay_until_idle()
    Device.objects.create(user=reader, platform="fcm", token="new-tablet")
    scripted.batches.clear()

    with transaction.atomic():
        announce_book(Event.objects.get(topic="book.shared"))
    run_relay_until_idle()

    assert Notification.objects.filter(book=book).count() == 2
    assert sent_tokens(scripted) == ["new-tablet"]


def test_book_hidden_before_delivery_is_not_announced(scripted):
    make_listener(0.01, 0)
    book = share_at(make_user())
    Book.objects.filter(pk=book.pk).update(status=Book.Status.HIDDEN)

    run_relay_until_idle()

    assert Notification.objects.count() == 0
    assert scripted.batches == []
    assert Delivery.objects.get(subscriber="notifications.announce").state == "done"


def test_sends_in_batches_no_larger_than_the_provider_allows(scripted):
    for n in range(7):
        make_listener(0.001 * n, 0.001, username=f"reader{n}")

    share_at(make_user())
    run_relay_until_idle()

    assert [len(batch) for batch in scripted.batches] == [3, 3, 1]
    assert Notification.objects.filter(status=Status.SENT).count() == 7


def test_c11_one_bad_token_does_not_spoil_the_batch(scripted):
    a = make_listener(0.01, 0, username="a")
    b = make_listener(0.02, 0, username="b")
    c = make_listener(0.03, 0, username="c")
    scripted.answers["token-b"] = PushResult(Outcome.UNREGISTERED, "UNREGISTERED")

    share_at(make_user())
    run_relay_until_idle()

    by_user = {n.recipient: n for n in Notification.objects.all()}
    assert by_user[a].status == Status.SENT
    assert by_user[c].status == Status.SENT
    assert by_user[b].status == Status.FAILED
    assert by_user[b].last_error == "UNREGISTERED"
    assert Device.objects.get(user=b).active is False
    assert Device.objects.get(user=a).active is True
    send = Delivery.objects.get(subscriber="notifications.send")
    assert (send.state, send.attempts) == (Delivery.State.DONE, 1)
    assert len(scripted.batches) == 1


def test_c11_message_rejected_keeps_the_device(scripted):
    reader = make_listener(0.01, 0)
    scripted.answers[f"token-{reader.username}"] = PushResult(
        Outcome.REJECTED, "INVALID_ARGUMENT: payload too large"
    )

    share_at(make_user())
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert notification.status == Status.FAILED
    assert notification.last_error == "INVALID_ARGUMENT: payload too large"
    assert Device.objects.get(user=reader).active is True


def test_provider_overload_retries_only_that_notification_later(scripted):
    make_listener(0.01, 0, username="fine")
    make_listener(0.02, 0, username="busy")
    scripted.answers["token-busy"] = PushResult(Outcome.RETRY, "429", retry_after_s=120)
    before = timezone.now()

    share_at(make_user())
    run_relay_until_idle()

    busy = Notification.objects.get(recipient__username="busy")
    assert busy.status == Status.PENDING
    assert busy.attempts == 1
    assert busy.next_attempt_at - before >= timedelta(seconds=119)
    assert Notification.objects.get(recipient__username="fine").status == Status.SENT
    # The next round is a new event due when the notification is, so waiting
    # costs the first delivery no attempts.
    first, second = Delivery.objects.filter(subscriber="notifications.send").order_by(
        "id"
    )
    assert (first.state, first.attempts) == (Delivery.State.DONE, 1)
    assert second.state == Delivery.State.PENDING
    assert second.available_at - before >= timedelta(seconds=119)

    # The provider recovers; the retry sends only the one still pending.
    del scripted.answers["token-busy"]
    travel(120)
    scripted.batches.clear()
    run_relay_until_idle()

    assert sent_tokens(scripted) == ["token-busy"]
    busy.refresh_from_db()
    assert (busy.status, busy.attempts) == (Status.SENT, 2)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"done"}


def test_a_book_hidden_while_sending_stops_at_the_next_batch(scripted, monkeypatch):
    for n in range(7):
        make_listener(0.001 * n, 0.001, username=f"reader{n}")
    book = share_at(make_user())
    send = scripted_backend.ScriptedBackend.send

    def send_then_hide(self, messages):
        Book.objects.filter(pk=book.pk).update(status=Book.Status.HIDDEN)
        return send(self, messages)

    monkeypatch.setattr(scripted_backend.ScriptedBackend, "send", send_then_hide)
    run_relay_until_idle()

    assert [len(batch) for batch in scripted.batches] == [3]
    statuses = Notification.objects.values_list("status", flat=True)
    assert sorted(statuses) == [Status.CANCELLED] * 4 + [Status.SENT] * 3


def test_the_fan_out_streams_users_and_devices_in_chunks(scripted, monkeypatch):
    monkeypatch.setattr(fanout, "CHUNK", 3)
    chunks = []
    insert = fanout.insert_notifications

    def spy(users, *args):
        chunks.append(len(users))
        return insert(users, *args)

    monkeypatch.setattr(fanout, "insert_notifications", spy)
    for n in range(10):
        make_listener(0.001 * n, 0.002, username=f"reader{n}")

    share_at(make_user())
    run_relay_until_idle()

    assert chunks == [3, 3, 3, 1]
    assert Notification.objects.filter(status=Status.SENT).count() == 10


def test_the_bounds_decide_as_the_geodesic_does():
    rng = random.Random(11)
    radius_m = 10_000
    for _ in range(3000):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-180, 180)
        # Points around the edge of the circle, where the bounds cannot tell.
        other_lat = lat + rng.uniform(-0.12, 0.12)
        other_lon = lon + rng.uniform(-0.12, 0.12) / max(0.1, abs(cos(radians(lat))))
        other_lon = (other_lon + 180) % 360 - 180
        exact = measure_m(lat, lon, other_lat, other_lon) <= radius_m
        assert is_within(lat, lon, other_lat, other_lon, radius_m) == exact


def test_a_retry_too_late_to_matter_gives_up(scripted, configure):
    configure(give_up_after_h=0.01)  # 36 s
    make_listener(0.01, 0, username="busy")
    scripted.answers["token-busy"] = PushResult(Outcome.RETRY, "503", retry_after_s=60)

    share_at(make_user())
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert notification.status == Status.FAILED
    assert notification.last_error == "Gave up after 0.01 h: 503"
    assert Delivery.objects.filter(subscriber="notifications.send").count() == 1


def test_withdrawing_a_book_cancels_what_waits_to_be_sent(scripted):
    from books.services import withdraw_book

    reader = make_listener(0.01, 0)
    sharer = make_user()
    book = share_at(sharer)
    # Stored, but the provider has not been called yet.
    scripted.answers[f"token-{reader.username}"] = PushResult(
        Outcome.RETRY, "503", retry_after_s=600
    )
    run_relay_until_idle()

    withdraw_book(book.pk, sharer)
    run_relay_until_idle()

    assert Notification.objects.get().status == Status.CANCELLED
