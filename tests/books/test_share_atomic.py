"""A share is all or nothing: rows, outbox events, broker tasks and files (C1, C2)."""

import dataclasses
import random
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django_q.models import OrmQ

from books import services
from books.models import Book, Picture
from outbox import registry, relay
from outbox.models import Delivery, Event
from places.models import Place
from tests.conftest import media_files
from tests.factories import jpeg_file

pytestmark = pytest.mark.django_db(transaction=True)


def share_form(**extra):
    return {
        "title": "Dune",
        "author": "Frank Herbert",
        "latitude": "52.52",
        "longitude": "13.405",
        "pictures": [jpeg_file("a.jpg"), jpeg_file("b.jpg", color="blue")],
        **extra,
    }


def assert_nothing_written(media_root):
    assert Book.objects.count() == 0
    assert Picture.objects.count() == 0
    assert Place.objects.count() == 0
    assert Event.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert OrmQ.objects.count() == 0
    assert media_files(media_root) == []


def fail_after_publishing(monkeypatch):
    """Make the share hit a real database error right after its outbox insert."""
    real_publish = services.publish

    def publish_then_fail(*args, **kwargs):
        event = real_publish(*args, **kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return event

    monkeypatch.setattr(services, "publish", publish_then_fail)


def test_c2_database_error_after_outbox_insert_leaves_nothing(
    client, media_root, monkeypatch
):
    fail_after_publishing(monkeypatch)

    with pytest.raises(DatabaseError):
        client.post("/api/books/", share_form(), format="multipart")

    assert_nothing_written(media_root)


def test_c2_failure_while_saving_pictures_removes_files_written(
    client, media_root, monkeypatch
):
    real_bulk_create = Picture.objects.bulk_create

    def fail(pictures, *args, **kwargs):
        assert len(media_files(media_root)) == 2  # the files were on disk
        raise DatabaseError("disk full")

    monkeypatch.setattr(Picture.objects, "bulk_create", fail)

    with pytest.raises(DatabaseError):
        client.post("/api/books/", share_form(), format="multipart")

    monkeypatch.setattr(Picture.objects, "bulk_create", real_bulk_create)
    assert_nothing_written(media_root)


def test_c2_random_bytes_among_pictures_writes_nothing(client, media_root):
    form = share_form()
    noise = random.Random(2).randbytes(10_000)
    form["pictures"].append(SimpleUploadedFile("c.jpg", noise, "image/jpeg"))

    response = client.post("/api/books/", form, format="multipart")

    assert response.status_code == 400
    assert "pictures" in response.json()
    assert_nothing_written(media_root)


def test_successful_share_commits_everything_together(client, media_root):
    response = client.post("/api/books/", share_form(), format="multipart")

    assert response.status_code == 201
    book = Book.objects.get()
    assert response.json()["id"] == book.pk
    assert Place.objects.get().pk == book.place_id
    assert sorted(p.image.name for p in book.pictures.all()) == media_files(media_root)
    assert sorted(Event.objects.values_list("topic", flat=True)) == [
        "book.shared",
        "place.created",
    ]
    assert sorted(Delivery.objects.values_list("subscriber", flat=True)) == [
        "books.make_thumbnails",
        "notifications.announce",
        "places.store_distances",
    ]
    assert OrmQ.objects.count() == 1  # one coalesced nudge


def test_c1_no_delivery_runs_before_the_share_commits(client, monkeypatch):
    """A relay polls fast while the share pauses after writing its events."""
    runs: list[tuple[tuple[str, int], float]] = []
    for sub in registry.get_all_subscribers():

        def recording(event, handler=sub.handler, name=sub.name):
            runs.append(((name, event.pk), time.monotonic()))
            return handler(event)

        changed = dataclasses.replace(sub, handler=recording)
        monkeypatch.setitem(registry._by_name, sub.name, changed)
    real_publish = services.publish
    pause_ended: list[float] = []

    def publish_then_pause(*args, **kwargs):
        event = real_publish(*args, **kwargs)
        if event.topic == "book.shared":
            time.sleep(2)
            pause_ended.append(time.monotonic())
        return event

    monkeypatch.setattr(services, "publish", publish_then_pause)
    stop = threading.Event()
    errors: list[BaseException] = []

    def poll_relay():
        try:
            while not stop.is_set():
                relay.drain(budget_s=0.5)
                time.sleep(0.02)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    poller = threading.Thread(target=poll_relay)
    poller.start()
    try:
        response = client.post("/api/books/", share_form(), format="multipart")
        deadline = time.monotonic() + 20
        while Delivery.objects.exclude(state=Delivery.State.DONE).exists():
            assert time.monotonic() < deadline, "deliveries did not finish"
            time.sleep(0.05)
    finally:
        stop.set()
        poller.join(timeout=30)

    assert response.status_code == 201
    assert errors == []
    assert runs, "the relay ran nothing"
    # Nothing ran while the transaction was open; only its commit followed.
    assert all(ran_at >= pause_ended[0] for _, ran_at in runs)
    handled = [name_and_event for name_and_event, _ in runs]
    assert sorted(handled) == sorted(
        Delivery.objects.values_list("subscriber", "event_id")
    )
    assert set(Delivery.objects.values_list("state", "attempts", "last_error")) == {
        (Delivery.State.DONE, 1, "")
    }
