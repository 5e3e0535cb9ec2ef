"""End to end: a real qcluster process drains what the API shares."""

import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from notifications.models import Notification
from outbox.models import Delivery
from places.models import Distance
from tests.conftest import (
    MANAGE_PY,
    is_postgres,
    run_manage,
    subprocess_env,
    wait_until_drained,
)
from tests.factories import jpeg_file, make_listener, make_place, make_user

pytestmark = pytest.mark.django_db(transaction=True)

CLUSTER_ENV = {"Q_WORKERS": "2", "Q_TIMEOUT": "30", "Q_RETRY": "60"}


@pytest.fixture
def qcluster(settings, tmp_path):
    log = (tmp_path / "qcluster.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, str(MANAGE_PY), "qcluster"],
        env=subprocess_env(settings, **CLUSTER_ENV),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process, log
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def read_log(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def test_share_is_drained_by_a_real_cluster(qcluster):
    process, log = qcluster
    neighbour = make_place(0.0903, 0, name="neighbour")
    reader = make_listener(0.0903, 0, radius_km=10, username="reader")
    client = APIClient()
    client.force_authenticate(make_user("sharer"))

    response = client.post(
        "/api/books/",
        {
            "title": "L'Étranger — 初版 📚",
            "author": "Albert Camus",
            "latitude": "0",
            "longitude": "0",
            "place_name": "Null Island",
            "pictures": [jpeg_file("a.jpg"), jpeg_file("b.jpg", color="green")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    wait_until_drained()

    book_place = response.json()["place"]["id"]
    distance = Distance.objects.get(from_place_id=book_place, to_place=neighbour)
    assert distance.meters == pytest.approx(9985, abs=1)
    notification = Notification.objects.get()
    assert notification.recipient == reader
    assert notification.status == Notification.Status.SENT
    assert set(Delivery.objects.values_list("subscriber", "attempts")) == {
        ("books.make_thumbnails", 1),
        ("places.store_distances", 1),
        ("notifications.announce", 1),
        ("notifications.send", 1),
    }
    assert process.poll() is None, read_log(log)
    output = read_log(log)
    assert "does not exist" not in output
    assert "Traceback" not in output


@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
def test_c8_two_relays_deliver_each_book_exactly_once(settings):
    """200 books near one user with one device, drained by two processes."""
    from books.services import PlaceInput, share_book

    reader = make_listener(0.01, 0.01, username="reader")
    sharer = make_user("sharer")
    place = make_place(0, 0)
    for n in range(200):
        share_book(
            sharer, title=f"Book {n}", author="A", place=PlaceInput(place_id=place.pk)
        )

    relays = [
        subprocess.Popen(
            [sys.executable, str(MANAGE_PY), "outbox", "drain"],
            env=subprocess_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [relay.communicate(timeout=120) for relay in relays]

    assert [relay.returncode for relay in relays] == [0, 0], outputs
    wait_until_drained(timeout_s=10)
    assert Notification.objects.filter(recipient=reader).count() == 200
    assert Notification.objects.values("book").distinct().count() == 200
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    # Thumbnails, announce and send for each book.
    assert Delivery.objects.count() == 600


def test_migrate_on_a_fresh_database_schedules_the_sweep(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"

    result = run_manage(settings, "migrate", "--no-input", DATABASE_URL=url)
    listing = run_manage(
        settings,
        "shell",
        "-c",
        "from django_q.models import Schedule; "
        "print(list(Schedule.objects.values_list('name', 'func', 'minutes')))",
        DATABASE_URL=url,
    )

    assert result.returncode == 0, result.stderr
    assert "[('outbox sweep', 'outbox.tasks.sweep_outbox', 1)]" in listing.stdout
