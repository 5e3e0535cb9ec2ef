"""Fan-out and delivery of one book to 10,000 devices, next to the naive way.

    python bench/fanout.py [--devices 10000] [--memory-devices 100000]

The fast way is the real one: the share, then the relay draining
notifications.announce (bulk inserts, streamed in chunks) and
notifications.send (batches through the Expo backend, 100 messages a
request). The naive way, timed in the same run on the same devices, stores
each notification with its own insert and sends it with its own provider call
(a new connection each), then marks it sent.

Then a worker process, idle after start-up, shares a book near 100,000
devices and drains it; its peak resident memory above idle is reported.

Runs on PostgreSQL (FANOUT_BENCH_DATABASE_URL, default a
sharebook_fanout_bench database on 127.0.0.1, created if missing). The
provider is an Expo-like stub on 127.0.0.1 in its own process. Prints one
JSON object as its last line.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sharebook_fanout_bench"
# Readers are spread over a square of this half-width (degrees) around the
# book, about 9.4 km at the corners: all within their 10 km radius.
SPREAD_DEG = 0.06
RUN_LIMIT_S = 900


# --- The provider stub (its own process) ---------------------------------------


def serve_stub() -> None:
    """Answer Expo's push/send with an ok ticket per message, counting them."""
    received = 0

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 64 * 1024

        def do_POST(self):
            nonlocal received
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            messages = body if isinstance(body, list) else [body]
            received += len(messages)
            tickets = [{"status": "ok", "id": str(uuid.uuid4())} for _ in messages]
            self.reply({"data": tickets if isinstance(body, list) else tickets[0]})

        def do_GET(self):
            self.reply({"received": received})

        def reply(self, content: dict) -> None:
            data = json.dumps(content).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_stub() -> tuple[subprocess.Popen, str]:
    stub = subprocess.Popen(
        [sys.executable, __file__, "--stub"], stdout=subprocess.PIPE, text=True
    )
    port = int(stub.stdout.readline())
    return stub, f"http://127.0.0.1:{port}"


def stub_received(base: str) -> int:
    with urllib.request.urlopen(f"{base}/count", timeout=10) as response:
        return json.load(response)["received"]


def use_stub(base: str) -> None:
    os.environ["NOTIFICATIONS_BACKEND"] = "notifications.backends.ProviderBackend"
    os.environ["NOTIFICATIONS_EXPO_URL"] = f"{base}/--/api/v2/push/send"


# --- Data ----------------------------------------------------------------------


def seed(readers: int) -> None:
    """Readers near (0, 0), each with a 10 km radius and one Expo device."""
    from django.db import connection

    # Set-based inserts: seeding is not what is measured.
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE accounts_user, places_place, outbox_event, django_q_ormq "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, "
            "username_key, first_name, last_name, email, is_staff, is_active, "
            "date_joined) SELECT '!', false, 'reader' || g, 'reader' || g, '', '', "
            "'', false, true, now() FROM generate_series(1, %s) g",
            [readers],
        )
        cursor.execute(
            "INSERT INTO notifications_notificationpreference "
            "(user_id, latitude, longitude, radius_km, enabled) "
            "SELECT id, (random() - 0.5) * %s, (random() - 0.5) * %s, 10, true "
            "FROM accounts_user",
            [2 * SPREAD_DEG, 2 * SPREAD_DEG],
        )
        cursor.execute(
            "INSERT INTO notifications_device (user_id, platform, token, keys, "
            "active, created_at, deactivated_reason) SELECT id, 'expo', "
            "'ExponentPushToken[bench' || id || ']', '{}', true, now(), '' "
            "FROM accounts_user"
        )
        cursor.execute("ANALYZE")


def make_sharer():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("sharer", password=None)


# --- The fast way: the real one ------------------------------------------------


def drain_until_idle() -> None:
    from outbox import relay

    while relay.drain(budget_s=RUN_LIMIT_S).handled:
        pass


def share(owner, title: str, latitude: float = 0.0):
    from books.services import PlaceInput, share_book

    return share_book(
        owner,
        title=title,
        author="Frank Herbert",
        place=PlaceInput(latitude=latitude, longitude=0.0),
    )


def time_fast(owner) -> tuple[float, int]:
    from notifications.models import Notification

    started = time.perf_counter()
    book = share(owner, "Dune")
    drain_until_idle()
    elapsed = time.perf_counter() - started
    sent = Notification.objects.filter(book=book, status="sent").count()
    return elapsed, sent


# --- The naive way -------------------------------------------------------------


def time_naive(owner, stub_url: str) -> tuple[float, int]:
    """One insert, one provider call (new connection) and one update per device."""
    import requests
    from django.utils import timezone

    from books.models import Book
    from notifications.fanout import find_interested_users
    from notifications.models import Device, Notification
    from places.models import Place

    place = Place.objects.create(latitude=0.0, longitude=0.0001, name="naive")
    book = Book.objects.create(owner=owner, place=place, title="Emma", author="Austen")
    url = f"{stub_url}/--/api/v2/push/send"
    sent = 0
    started = time.perf_counter()
    for user_id in find_interested_users(book):
        for device in Device.objects.filter(user_id=user_id, active=True):
            notification = Notification.objects.create(
                recipient_id=user_id,
                device=device,
                book=book,
                event_id=0,
                title=f"New book near you: {book.title}",
                body=f"{book.title} by {book.author}",
                next_attempt_at=timezone.now(),
            )
            message = {
                "to": device.token,
                "title": notification.title,
                "body": notification.body,
                "data": {"book_id": str(book.pk)},
            }
            ticket = requests.post(url, json=message, timeout=10).json()["data"]
            if ticket["status"] == "ok":
                Notification.objects.filter(pk=notification.pk).update(
                    status="sent", sent_at=timezone.now(), attempts=1
                )
                sent += 1
    return time.perf_counter() - started, sent


# --- Memory of a worker at 100,000 devices ------------------------------------


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def run_worker() -> None:
    """Start as a worker does, settle, then share one book and drain it."""
    import gc

    import django
    from database import PROJECT

    sys.path.insert(0, str(PROJECT))
    django.setup()
    from notifications.backends import get_backend
    from notifications.models import Notification

    get_backend()
    drain_until_idle()  # nothing to do: imports and connections are warm
    gc.collect()
    idle = rss_mb("VmRSS")
    # Reset the high-water mark to now, so the peak is this run's.
    Path("/proc/self/clear_refs").write_text("5")

    started = time.perf_counter()
    book = share(make_sharer(), "Ulysses", latitude=0.0002)
    drain_until_idle()
    elapsed = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    sent = Notification.objects.filter(book=book, status="sent").count()
    result = {"idle_mb": idle, "peak_mb": peak, "seconds": elapsed, "sent": sent}
    print(json.dumps(result), flush=True)


def measure_worker(devices: int) -> dict:
    seed(devices)
    from django.db import connections

    connections.close_all()
    worker = subprocess.run(
        [sys.executable, __file__, "--worker"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_S,
    )
    if worker.returncode:
        raise RuntimeError(f"the worker failed:\n{worker.stderr[-3000:]}")
    return json.loads(worker.stdout.strip().splitlines()[-1])


# --- Main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--memory-devices", type=int, default=100_000)
    parser.add_argument("--stub", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub:
        return serve_stub()
    # Bounded whatever happens: the alarm ends a run that hangs.
    signal.alarm(RUN_LIMIT_S)
    if args.worker:
        return run_worker()

    stub, stub_url = start_stub()
    try:
        use_stub(stub_url)
        from database import prepare_database

        prepare_database(os.environ.get("FANOUT_BENCH_DATABASE_URL", DEFAULT_URL))
        report = run(args, stub_url)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    print(json.dumps(report))


def run(args, stub_url: str) -> dict:
    seed(args.devices)
    owner = make_sharer()
    fast_s, fast_sent = time_fast(owner)
    naive_s, naive_sent = time_naive(owner, stub_url)
    assert fast_sent == naive_sent == args.devices, (fast_sent, naive_sent)
    assert stub_received(stub_url) == 2 * args.devices
    print(f"fast  {fast_s:8.2f} s for {fast_sent} devices")
    print(f"naive {naive_s:8.2f} s for {naive_sent} devices")

    worker = measure_worker(args.memory_devices)
    assert worker["sent"] == args.memory_devices, worker
    peak_mb = worker["peak_mb"] - worker["idle_mb"]
    print(
        f"worker at {args.memory_devices} devices: {worker['idle_mb']:.0f} MB idle, "
        f"{peak_mb:.1f} MB above it at peak, {worker['seconds']:.1f} s"
    )
    return {
        "devices": args.devices,
        "fast_s": round(fast_s, 3),
        "naive_s": round(naive_s, 3),
        "ratio": round(naive_s / fast_s, 1),
        "memory_devices": args.memory_devices,
        "peak_mb_100k": round(peak_mb, 1),
        "worker_100k_s": round(worker["seconds"], 1),
    }


if __name__ == "__main__":
    main()
