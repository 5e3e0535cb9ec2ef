"""Redis as django-q2's broker: nudges, a cluster draining, and the Procfile.

These run on SQLite and on PostgreSQL alike: Redis carries only the drain
tasks, and the outbox in the database stays the source of truth.
"""

import http.client
import json
import logging
import os
import shlex
import socket
import sys
import uuid

import pytest
from django_q.models import OrmQ, Task
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.models import Notification
from outbox import publisher
from outbox.models import Delivery
from places.models import Distance
from tests.conftest import wait_until_drained
from tests.e2e.conftest import PROJECT, queue_length, wait_for
from tests.factories import jpeg_bytes, jpeg_file, make_listener, make_place, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# One send round fits django-q2's timeout with room to spare.
CLUSTER_ENV = {
    "Q_WORKERS": "2",
    "Q_TIMEOUT": "30",
    "Q_RETRY": "60",
    "NOTIFICATIONS_SEND_BUDGET_S": "5",
    "NOTIFICATIONS_TIMEOUT_S": "5",
}
DRAIN_TASK = "outbox.tasks.drain_outbox"


def test_nudges_go_through_redis_and_a_queued_drain_covers_the_next(redis_url):
    publisher.enqueue_drain()
    publisher.enqueue_drain()

    assert queue_length(redis_url) == 1
    assert OrmQ.objects.count() == 0


def test_a_share_succeeds_while_redis_is_down(monkeypatch, caplog):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(Conf, "ORM", None)
    client = APIClient()
    client.force_authenticate(make_user())

    with caplog.at_level(logging.WARNING, logger="outbox.publisher"):
        response = client.post(
            "/api/books/",
            {"title": "Dune", "author": "Frank Herbert", "latitude": "1"}
            | {"longitude": "2"},
            format="multipart",
        )

    assert response.status_code == 201, response.content
    assert "could not enqueue a drain; the sweep will" in caplog.text
    # The events are stored: the one-minute sweep will drain them.
    pending = Delivery.objects.filter(state=Delivery.State.PENDING)
    assert sorted(pending.values_list("subscriber", flat=True)) == [
        "books.make_thumbnails",
        "notifications.announce",
        "places.store_distances",
    ]


def test_a_cluster_on_redis_drains_a_share(redis_url, start_cluster):
    cluster = start_cluster(REDIS_URL=redis_url, **CLUSTER_ENV)
    neighbour = make_place(0.0903, 0, name="neighbour")
    reader = make_listener(0.0903, 0, radius_km=10, username="reader")
    client = APIClient()
    client.force_authenticate(make_user("sharer"))

    response = client.post(
        "/api/books/",
        {
            "title": "L'Étranger",
            "author": "Albert Camus",
            "latitude": "0",
            "longitude": "0",
            "pictures": [jpeg_file("a.jpg")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    wait_until_drained()

    place_id = response.json()["place"]["id"]
    assert Distance.objects.filter(from_place_id=place_id, to_place=neighbour).exists()
    assert Notification.objects.get().recipient == reader
    assert Notification.objects.get().status == Notification.Status.SENT
    # The drain came through Redis; django-q2 keeps its result once it ends
    # (it lingers a few seconds for more work first).
    drains = Task.objects.filter(func=DRAIN_TASK, success=True)
    wait_for(drains.exists, 15, "the drain's result")
    assert OrmQ.objects.count() == 0
    assert cluster.is_running(), cluster.log()
    assert "Traceback" not in cluster.log()


# --- The Procfile, as a platform would run it ---------------------------------


def read_procfile() -> dict[str, str]:
    lines = (PROJECT / "Procfile").read_text().splitlines()
    entries = [line.split(":", 1) for line in lines if line.strip()]
    return {name.strip(): command.strip() for name, command in entries}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shell(command: str) -> list[str]:
    return ["bash", "-c", f"exec {command}"]


def venv_path() -> str:
    """PATH with this interpreter's bin first, so `python` and `gunicorn` are ours."""
    return f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"


def http_request(port: int, method: str, path: str, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answers(port: int) -> bool:
    try:
        return http_request(port, "GET", "/api/books/")[0] == 200
    except OSError:
        return False


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, content in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_procfile_web_and_worker_share_and_drain_on_redis(
    settings, redis_url, start_service
):
    procfile = read_procfile()
    port = closed_port()
    env = {
        "REDIS_URL": redis_url,
        "PATH": venv_path(),
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        **CLUSTER_ENV,
    }
    release = start_service("release", shell(procfile["release"]), **env)
    assert release.process.wait(timeout=60) == 0, release.log()
    web = start_service("web", shell(procfile["web"]), **env)
    worker = start_service("worker", shell(procfile["worker"]), **env)
    reader = make_listener(47.37, 8.54, username="reader")
    token = Token.objects.create(user=make_user("sharer")).key
    wait_for(lambda: answers(port), 30, f"web on port {port}", poll_s=0.2)

    body, content_type = multipart(
        {"title": "Dune", "author": "Frank Herbert", "latitude": "47.3769"}
        | {"longitude": "8.5417"},
        {"pictures": jpeg_bytes()},
    )
    status, answer = http_request(
        port,
        "POST",
        "/api/books/",
        body,
        {"Content-Type": content_type, "Authorization": f"Token {token}"},
    )
    assert status == 201, answer
    wait_until_drained()

    notification = Notification.objects.get()
    assert notification.book_id == json.loads(answer)["id"]
    assert notification.recipient == reader
    assert notification.status == Notification.Status.SENT
    assert web.is_running() and worker.is_running(), web.log() + worker.log()
    assert "POST /api/books/" in web.log()
    assert shlex.split(procfile["worker"])[-1] == "qcluster"
