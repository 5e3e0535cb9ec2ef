"""Sending through the relay to real protocol peers on loopback: C11, outages,
cancellations. The clock is moved by ``travel``, not slept."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from books.models import Book
from books.services import PlaceInput, share_book
from notifications.handlers import BOOK_HIDDEN
from notifications.models import Device, Notification, NotificationPreference
from outbox.models import Delivery
from outbox.publisher import publish
from tests.conftest import run_relay_until_idle
from tests.factories import make_listener, make_user
from tests.notifications.conftest import travel
from tests.notifications.peers import fcm_outage

pytestmark = pytest.mark.django_db
Status = Notification.Status


def share_at(owner, latitude=0.0, longitude=0.0, title="Dune") -> Book:
    return share_book(
        owner,
        title=title,
        author="Frank Herbert",
        place=PlaceInput(latitude=latitude, longitude=longitude),
    )


def statuses() -> dict[str, str]:
    return dict(Notification.objects.values_list("recipient__username", "status"))


def test_c11_one_unregistered_token_does_not_spoil_the_batch(fcm):
    a = make_listener(0.01, 0, username="a")
    b = make_listener(0.02, 0, username="b")
    c = make_listener(0.03, 0, username="c")
    fcm.answers["token-b"] = "unregistered"

    share_at(make_user())
    run_relay_until_idle()

    assert statuses() == {"a": Status.SENT, "b": Status.FAILED, "c": Status.SENT}
    assert fcm.delivered_tokens() == ["token-a", "token-c"]
    failed = Notification.objects.get(recipient=b)
    assert failed.last_error.startswith("UNREGISTERED")
    assert Notification.objects.get(recipient=a).sent_at is not None
    assert Device.objects.get(user=a).active
    assert Device.objects.get(user=b).deactivated_reason.startswith("UNREGISTERED")
    assert Device.objects.get(user=c).active
    (send,) = Delivery.objects.filter(subscriber="notifications.send")
    assert (send.state, send.attempts) == (Delivery.State.DONE, 1)
    assert fcm.problems == []


def test_c11_an_error_about_the_message_keeps_the_device(fcm):
    reader = make_listener(0.01, 0, username="reader")
    fcm.answers["token-reader"] = "too_big"

    share_at(make_user())
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert notification.status == Status.FAILED
    assert notification.last_error.startswith("INVALID_ARGUMENT: Message is too big")
    assert Device.objects.get(user=reader).active is True
    assert Delivery.objects.get(subscriber="notifications.send").state == "done"


def test_a_long_outage_ends_with_every_notification_sent_exactly_once(
    fcm, configure, settings
):
    # Fewer attempts than the outage has rounds: waiting must not spend them.
    settings.OUTBOX = {**settings.OUTBOX, "MAX_ATTEMPTS": 3}
    configure(concurrency=4, batch_size=10)
    readers = [make_listener(0.001 * n, 0, username=f"r{n:02d}") for n in range(25)]
    fcm.outage = fcm_outage("60")

    share_at(make_user())
    run_relay_until_idle()
    for _minute in range(10):
        assert statuses() == {r.username: Status.PENDING for r in readers}
        travel(60)
        run_relay_until_idle()
        assert not Delivery.objects.filter(state=Delivery.State.DEAD).exists()
    sends_during_outage = len(sends(fcm))

    fcm.outage = None
    travel(60)
    run_relay_until_idle()

    assert statuses() == {r.username: Status.SENT for r in readers}
    assert fcm.delivered_tokens() == sorted(f"token-{r.username}" for r in readers)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"done"}
    # Each round met the outage with one request per concurrent slot, not
    # one per notification.
    assert sends_during_outage <= 11 * 4
    assert fcm.problems == []


def test_an_outage_without_retry_after_backs_off_and_still_ends(fcm, configure):
    configure(concurrency=2)
    readers = [make_listener(0.001 * n, 0, username=f"r{n}") for n in range(5)]
    fcm.outage = fcm_outage(None)
    share_at(make_user())
    run_relay_until_idle()
    waits = []
    for _round in range(5):
        waits.append(next_attempt_in_s())
        travel(waits[-1])
        run_relay_until_idle()

    fcm.outage = None
    travel(next_attempt_in_s())
    run_relay_until_idle()

    assert statuses() == {r.username: Status.SENT for r in readers}
    assert fcm.delivered_tokens() == sorted(f"token-{r.username}" for r in readers)
    # Doubling from 30 s, half jittered: about 8 minutes of outage in all.
    assert waits == sorted(waits)
    assert 15 <= waits[0] <= 31
    assert 240 <= waits[-1] <= 481
    assert set(Delivery.objects.values_list("state", flat=True)) == {"done"}


def sends(peer) -> list:
    return [request for request in peer.requests if request.path != "/token"]


def next_attempt_in_s() -> float:
    first = Notification.objects.filter(status=Status.PENDING).order_by(
        "next_attempt_at"
    )[0]
    return (first.next_attempt_at - timezone.now()).total_seconds() + 1


def test_retry_after_is_honoured_for_the_notification_that_got_it(fcm):
    make_listener(0.01, 0, username="busy")
    make_listener(0.02, 0, username="fine")
    fcm.answers["token-busy"] = "quota"  # 429 with Retry-After: 120
    before = timezone.now()

    share_at(make_user())
    run_relay_until_idle()

    busy = Notification.objects.get(recipient__username="busy")
    assert (busy.status, busy.attempts) == (Status.PENDING, 1)
    assert busy.last_error.startswith("QUOTA_EXCEEDED")
    waited = busy.next_attempt_at - before
    assert timedelta(seconds=120) <= waited < timedelta(seconds=125)
    assert statuses()["fine"] == Status.SENT

    del fcm.answers["token-busy"]
    travel(60)
    run_relay_until_idle()
    assert statuses()["busy"] == Status.PENDING
    travel(60)
    run_relay_until_idle()
    assert statuses()["busy"] == Status.SENT
    assert fcm.delivered_tokens() == ["token-busy", "token-fine"]


def test_an_outage_of_one_provider_does_not_hold_back_another(fcm, expo):
    make_listener(0.01, 0, username="android")
    phone = make_listener(0.02, 0, username="iphone")
    Device.objects.filter(user=phone).update(
        platform="expo", token="ExponentPushToken[iphone]"
    )
    fcm.outage = fcm_outage("300")

    share_at(make_user())
    run_relay_until_idle()

    assert statuses() == {"android": Status.PENDING, "iphone": Status.SENT}
    assert expo.delivered_tokens() == ["ExponentPushToken[iphone]"]


def test_a_notification_abandoned_by_a_dead_worker_is_sent_once_its_lease_ends(
    fcm,
):
    make_listener(0.01, 0, username="reader")
    fcm.outage = fcm_outage("60")
    share_at(make_user())
    run_relay_until_idle()
    # A worker claimed it and died: sending, with a lease that ran out.
    Notification.objects.update(
        status=Status.SENDING, leased_until=timezone.now() - timedelta(seconds=1)
    )
    fcm.outage = None
    travel(120)

    run_relay_until_idle()

    assert statuses() == {"reader": Status.SENT}
    assert fcm.delivered_tokens() == ["token-reader"]


def test_expo_devices_are_sent_in_requests_of_at_most_100(expo):
    for n in range(230):
        reader = make_listener(0.0001 * n, 0, username=f"e{n:03d}")
        Device.objects.filter(user=reader).update(
            platform="expo", token=f"ExponentPushToken[e{n:03d}]"
        )

    share_at(make_user())
    run_relay_until_idle()

    assert max(expo.batch_sizes) <= 100
    assert sum(expo.batch_sizes) == 230
    assert Notification.objects.filter(status=Status.SENT).count() == 230
    assert expo.problems == []


def test_a_browser_subscribed_through_the_api_reads_the_book_title(webpush):
    reader = make_user("reader")
    NotificationPreference.objects.create(user=reader, latitude=0.01, longitude=0)
    api = APIClient()
    api.force_authenticate(reader)
    subscription = webpush.subscribe()
    response = api.post(
        "/api/devices/",
        {"platform": "webpush", "subscription": subscription},
        format="json",
    )
    assert response.status_code == 201, response.content

    share_at(make_user(), title="L'Étranger — 初版 📚")
    run_relay_until_idle()

    (text,) = webpush.received(subscription)
    assert '"title": "New book near you: L\'Étranger — 初版 📚"' in text
    assert statuses() == {"reader": Status.SENT}
    assert webpush.problems == []


def test_a_gone_subscription_deactivates_the_browser(webpush):
    reader = make_user("reader")
    NotificationPreference.objects.create(user=reader, latitude=0.01, longitude=0)
    subscription = webpush.subscribe()
    Device.objects.create(
        user=reader,
        platform="webpush",
        token=subscription["endpoint"],
        keys=subscription["keys"],
    )
    webpush.answers[subscription["endpoint"].rsplit("/", 1)[1]] = "gone"

    share_at(make_user())
    run_relay_until_idle()

    assert statuses() == {"reader": Status.FAILED}
    assert Device.objects.get().active is False


def test_c12_book_hidden_event_cancels_pending_notifications(fcm):
    make_listener(0.01, 0, username="a")
    make_listener(0.02, 0, username="b")
    fcm.outage = fcm_outage("60")
    book = share_at(make_user())
    run_relay_until_idle()
    assert set(statuses().values()) == {Status.PENDING}

    with transaction.atomic():
        Book.objects.filter(pk=book.pk).update(status=Book.Status.HIDDEN)
        publish(BOOK_HIDDEN, {"book_id": book.pk}, key=f"book:{book.pk}")
    run_relay_until_idle()
    assert set(statuses().values()) == {Status.CANCELLED}

    fcm.outage = None
    travel(3600)
    run_relay_until_idle()
    assert fcm.delivered == []
    assert set(Delivery.objects.values_list("state", flat=True)) == {"done"}


def test_a_book_hidden_without_an_event_is_cancelled_by_the_sender(fcm):
    make_listener(0.01, 0, username="a")
    fcm.outage = fcm_outage("60")
    book = share_at(make_user())
    run_relay_until_idle()
    Book.objects.filter(pk=book.pk).update(status=Book.Status.WITHDRAWN)

    fcm.outage = None
    travel(60)
    run_relay_until_idle()

    assert statuses() == {"a": Status.CANCELLED}
    assert fcm.delivered == []


def test_a_removed_device_is_not_sent_to_and_its_notification_stays(fcm):
    reader = make_listener(0.01, 0, username="reader")
    fcm.outage = fcm_outage("60")
    share_at(make_user())
    run_relay_until_idle()
    api = APIClient()
    api.force_authenticate(reader)

    api.delete(f"/api/devices/{Device.objects.get().pk}/")
    fcm.outage = None
    travel(60)
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert (notification.status, notification.device) == (Status.CANCELLED, None)
    assert fcm.delivered == []
    assert api.get("/api/notifications/").json()["count"] == 1


def test_a_token_taken_by_another_user_does_not_carry_the_old_owners_news(fcm):
    make_listener(0.01, 0, username="seller")
    fcm.outage = fcm_outage("60")
    share_at(make_user())
    run_relay_until_idle()
    buyer = APIClient()
    buyer.force_authenticate(make_user("buyer"))

    buyer.post("/api/devices/", {"platform": "fcm", "token": "token-seller"})
    fcm.outage = None
    travel(60)
    run_relay_until_idle()

    assert statuses() == {"seller": Status.CANCELLED}
    assert fcm.delivered == []
    assert Device.objects.get().user.username == "buyer"


def test_a_device_deactivated_meanwhile_is_not_sent_to(fcm):
    make_listener(0.01, 0, username="reader")
    fcm.outage = fcm_outage("60")
    share_at(make_user())
    run_relay_until_idle()
    Device.objects.update(active=False, deactivated_reason="UNREGISTERED: gone")

    fcm.outage = None
    travel(60)
    run_relay_until_idle()

    notification = Notification.objects.get()
    assert notification.status == Status.CANCELLED
    assert notification.last_error == "The device was deactivated: UNREGISTERED: gone"
    assert fcm.delivered == []


def test_an_operator_sends_failed_notifications_again_and_sent_ones_never(fcm):
    make_listener(0.01, 0, username="fixed")
    make_listener(0.02, 0, username="fine")
    fcm.answers["token-fixed"] = "too_big"
    share_at(make_user())
    run_relay_until_idle()
    assert statuses() == {"fixed": Status.FAILED, "fine": Status.SENT}
    operator = make_user("operator")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    admin = Client()
    admin.force_login(operator)

    del fcm.answers["token-fixed"]
    response = admin.post(
        "/admin/notifications/notification/",
        {
            "action": "send_selected_again",
            "_selected_action": list(Notification.objects.values_list("id", flat=True)),
        },
    )
    run_relay_until_idle()

    assert response.status_code == 302
    assert statuses() == {"fixed": Status.SENT, "fine": Status.SENT}
    assert fcm.delivered_tokens() == ["token-fine", "token-fixed"]
