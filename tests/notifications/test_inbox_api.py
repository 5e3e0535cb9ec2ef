"""Reading my notifications: /api/notifications/ and marking them read."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from books.models import Book
from notifications.models import Device, Notification
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db

INBOX_URL = "/api/notifications/"
_places = itertools.count(1)


def notify(user, title: str, *, device=None, minutes_ago: int = 0, **fields):
    book = Book.objects.create(
        owner=make_user(),
        place=make_place(latitude=next(_places) / 1000),
        title=title,
        author="Someone",
    )
    device = device or Device.objects.create(
        user=user, platform="fcm", token=f"token-{user.pk}-{title}"
    )
    notification = Notification.objects.create(
        recipient=user,
        device=device,
        book=book,
        event_id=1,
        title=f"New book near you: {title}",
        body=f"{title} by Someone",
        next_attempt_at=timezone.now(),
        **fields,
    )
    created = timezone.now() - timedelta(minutes=minutes_ago)
    Notification.objects.filter(pk=notification.pk).update(created_at=created)
    return notification


def test_my_inbox_lists_my_notifications_newest_first_with_the_unread_count(
    client, user
):
    old = notify(user, "Dune", minutes_ago=30)
    new = notify(user, "Emma", minutes_ago=1)
    notify(make_user(), "Not mine")
    Notification.objects.filter(pk=old.pk).update(read_at=timezone.now())

    response = client.get(INBOX_URL)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["unread"]) == (2, 1)
    assert [item["id"] for item in body["results"]] == [new.pk, old.pk]
    item = body["results"][0]
    assert item["title"] == "New book near you: Emma"
    assert item["body"] == "Emma by Someone"
    assert item["book"] == new.book_id
    assert (item["read"], item["read_at"]) == (False, None)
    assert body["results"][1]["read"] is True


def test_a_book_told_to_two_of_my_devices_is_one_entry(client, user):
    first = notify(user, "Dune")
    tablet = Device.objects.create(user=user, platform="fcm", token="tablet")
    Notification.objects.create(
        recipient=user,
        device=tablet,
        book=first.book,
        event_id=1,
        title=first.title,
        body=first.body,
        next_attempt_at=timezone.now(),
    )

    body = client.get(INBOX_URL).json()

    assert (body["count"], body["unread"]) == (1, 1)
    assert [item["id"] for item in body["results"]] == [first.pk]


def test_notifications_of_hidden_books_leave_the_inbox(client, user):
    shown = notify(user, "Dune")
    hidden = notify(user, "Spam")
    Book.objects.filter(pk=hidden.book_id).update(status=Book.Status.HIDDEN)

    body = client.get(INBOX_URL).json()

    assert [item["id"] for item in body["results"]] == [shown.pk]
    assert body["unread"] == 1


def test_the_inbox_is_paginated(client, user):
    for n in range(25):
        notify(user, f"Book {n}", minutes_ago=n)

    first = client.get(INBOX_URL).json()
    second = client.get(INBOX_URL, {"page": 2}).json()

    assert (first["count"], first["unread"], len(first["results"])) == (25, 25, 20)
    assert first["next"].endswith("?page=2")
    assert len(second["results"]) == 5
    assert second["unread"] == 25


def test_marking_one_read_marks_it_on_all_my_devices(client, user):
    first = notify(user, "Dune")
    other = notify(user, "Emma")
    tablet = Device.objects.create(user=user, platform="fcm", token="tablet")
    twin = Notification.objects.create(
        recipient=user,
        device=tablet,
        book=first.book,
        event_id=1,
        title=first.title,
        body=first.body,
        next_attempt_at=timezone.now(),
    )

    response = client.post(f"{INBOX_URL}{first.pk}/read/")

    assert response.status_code == 200
    assert response.json()["read"] is True
    twin.refresh_from_db()
    other.refresh_from_db()
    assert twin.read_at is not None
    assert other.read_at is None
    assert client.get(INBOX_URL).json()["unread"] == 1


def test_marking_read_twice_keeps_the_first_time(client, user):
    notification = notify(user, "Dune")
    first = client.post(f"{INBOX_URL}{notification.pk}/read/").json()["read_at"]

    second = client.post(f"{INBOX_URL}{notification.pk}/read/").json()["read_at"]

    assert second == first


def test_marking_all_read(client, user):
    for title in ("Dune", "Emma", "Ulysses"):
        notify(user, title)
    theirs = notify(make_user(), "Not mine")

    response = client.post(f"{INBOX_URL}read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked_read": 3, "unread": 0}
    assert client.get(INBOX_URL).json()["unread"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("which", ["theirs", "missing", "not-a-number"])
def test_i_cannot_mark_what_is_not_mine(client, which):
    theirs = notify(make_user(), "Not mine")
    target = {"theirs": theirs.pk, "missing": 999999, "not-a-number": "abc"}[which]

    response = client.post(f"{INBOX_URL}{target}/read/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", INBOX_URL),
        ("post", f"{INBOX_URL}1/read/"),
        ("post", f"{INBOX_URL}read-all/"),
    ],
)
def test_the_inbox_needs_a_signed_in_user(anonymous_client, method, path):
    response = getattr(anonymous_client, method)(path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
