"""Distances at world scale: the handler next to the naive loop, the backfill, "near".

    python bench/distances.py [--books 100000] [--requests 25]

Runs on PostgreSQL, in a database of its own (BENCH_PLACES_DATABASE_URL,
default a sharebook_bench_places database on 127.0.0.1, created if missing;
its places and books are emptied first, so its name must contain "bench").
Takes a few minutes, most of them in the naive loop. Progress goes to stderr;
the last line on stdout is one JSON object with the figures:

- ``backfill_s``, ``backfill_peak_mb``: ``compute_distances`` over the 34,000
  cities of 15,000+ people, in a child process (its peak resident memory).
- ``places``, ``handler_ms``, ``naive_ms``, ``ratio``, ``identical``: a new
  place among the ~235,000 cities of 500+ people. The handler (bounding box,
  bounds, geodesics, insert; the median of five runs) against the naive loop
  (read every place, geopy's geodesic to each), both in this run, at several
  points; the figures are those of the point with the slowest handler, and
  ``identical`` holds for all.
- ``near_p50_ms``, ``near_unindexed_p50_ms``, ``near_queries``:
  ``GET /api/books/?near=`` with 100,000 books, with and without the
  (latitude, longitude) indexes (dropped in a transaction rolled back after).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from urllib.parse import urlparse

from database import PROJECT, prepare_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sharebook_bench_places"
RADIUS_KM = 50
# New places: the densest spots of the GeoNames lists, a big city elsewhere,
# and the awkward ones: a box that wraps at the antimeridian (no city of the
# list lies just west of it, so the neighbours are Fijian towns east of it),
# and a wide box far north.
POINTS = {
    "zurich": (47.376901, 8.541701),
    "milan": (45.464201, 9.190001),
    "new york": (40.712801, -74.006001),
    "fiji, box over 180": (-16.6, 179.7),
    "svalbard": (78.2, 15.6),
}
NEAR_POINT = (47.376901, 8.541701)
# Distances agree with geopy's to within this (they should agree exactly).
TOLERANCE_M = 1.0
# The handler takes a tenth of a second: its median of a few runs (each with a
# new place, rolled back) is steadier than one run on a busy machine.
HANDLER_RUNS = 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=25)
    args = parser.parse_args()

    url = os.environ.get("BENCH_PLACES_DATABASE_URL", DEFAULT_URL)
    if "bench" not in urlparse(url).path:
        sys.exit(f"Refusing {url}: its tables are emptied; name it *bench*.")
    os.environ["PLACES_DISTANCE_RADIUS_KM"] = str(RADIUS_KM)
    os.environ["LOG_LEVEL"] = "WARNING"
    prepare_database(url)
    empty_tables()

    figures = {}
    load_places(15000)
    figures.update(time_backfill(url))
    load_places(500)
    figures.update(time_new_place())
    figures.update(time_near(args.books, args.requests))
    print(json.dumps(figures))


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE places_distance, places_place, books_book, books_picture "
            "RESTART IDENTITY CASCADE"
        )


def load_places(min_population: int) -> None:
    from django.core.management import call_command

    from places.models import Place

    started = time.perf_counter()
    call_command("load_places", min_population=min_population, verbosity=0)
    analyze()
    log(
        f"load_places --min-population {min_population}: "
        f"{Place.objects.count()} places, {time.perf_counter() - started:.1f} s"
    )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE places_place")
        cursor.execute("ANALYZE places_distance")


def time_backfill(url: str) -> dict:
    """Run the command as its own process, to measure its peak memory alone."""
    from places.models import Distance

    command = [sys.executable, str(PROJECT / "manage.py"), "compute_distances"]
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    summary = child.stdout.read().strip()
    if status != 0:
        sys.exit(f"compute_distances failed ({status}): {summary}")
    analyze()

    log(f"compute_distances: {elapsed:.1f} s, {summary}")
    return {
        "backfill_s": round(elapsed, 2),
        # ru_maxrss is in kilobytes on Linux.
        "backfill_peak_mb": round(usage.ru_maxrss / 1024, 1),
        "backfill_pairs": Distance.objects.count() // 2,
    }


def time_new_place() -> dict:
    from places.models import Place

    count = Place.objects.count()
    measure_handler(*POINTS["zurich"])  # warm the caches, as in production
    samples = []
    for name, (latitude, longitude) in POINTS.items():
        sample = {"point": name, **compare_with_naive(latitude, longitude)}
        log(f"new place at {name}: {sample}")
        samples.append(sample)

    slowest = max(samples, key=lambda sample: sample["handler_ms"])
    return {
        "places": count,
        "handler_ms": slowest["handler_ms"],
        "naive_ms": slowest["naive_ms"],
        "ratio": round(slowest["naive_ms"] / slowest["handler_ms"], 1),
        "identical": all(sample["identical"] for sample in samples),
        "new_place_samples": samples,
    }


def compare_with_naive(latitude: float, longitude: float) -> dict:
    runs = [measure_handler(latitude, longitude) for _ in range(HANDLER_RUNS)]
    handler_s = statistics.median(elapsed for _, elapsed, _ in runs)
    place_id, _, stored = runs[-1]
    naive_s, naive = run_naive_loop(place_id, latitude, longitude)

    differences = [abs(stored[key] - naive[key]) for key in naive.keys() & stored]
    same_every_run = all(other == stored for _, _, other in runs)
    return {
        "neighbours": len(naive),
        "handler_ms": round(handler_s * 1000, 1),
        "naive_ms": round(naive_s * 1000, 1),
        "identical": same_every_run
        and stored.keys() == naive.keys()
        and max(differences, default=0) <= TOLERANCE_M,
        "max_difference_m": max(differences, default=0),
    }


def measure_handler(latitude: float, longitude: float):
    """Create a place, run its place.created handler as the relay would, undo."""
    from django.db import transaction

    from outbox.models import Event
    from places.handlers import store_place_distances
    from places.models import Distance, Place

    with transaction.atomic():
        place = Place.objects.create(latitude=latitude, longitude=longitude)
        event = Event(topic="place.created", payload={"place_id": place.pk})
        started = time.perf_counter()
        with transaction.atomic():
            store_place_distances(event)
        elapsed = time.perf_counter() - started
        stored = dict(
            Distance.objects.filter(from_place=place).values_list("to_place", "meters")
        )
        transaction.set_rollback(True)
    return place.pk, elapsed, stored


def run_naive_loop(place_id: int, latitude: float, longitude: float):
    """What the original app did: geopy's geodesic to every other place."""
    from geopy.distance import geodesic

    from places.models import Place

    started = time.perf_counter()
    within = {}
    others = Place.objects.exclude(pk=place_id).values_list(
        "id", "latitude", "longitude"
    )
    for other_id, other_lat, other_lon in others:
        meters = geodesic((latitude, longitude), (other_lat, other_lon)).meters
        if meters <= RADIUS_KM * 1000:
            within[other_id] = meters
    return time.perf_counter() - started, within


def time_near(count: int, requests: int) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    add_books(count)
    client = APIClient(HTTP_HOST="127.0.0.1")
    query = {"near": "{},{}".format(*NEAR_POINT), "radius_km": RADIUS_KM}
    first = client.get("/api/books/", query).json()
    queries = []
    for page in (1, 2, 5):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/books/", {**query, "page": page})
        assert response.status_code == 200, response.content
        queries.append(len(captured))

    indexed = time_requests(client, query, requests)
    with transaction.atomic():
        drop_point_indexes()
        unindexed = time_requests(client, query, requests)
        transaction.set_rollback(True)

    log(f"near: {first['count']} books within {RADIUS_KM} km; queries {queries}")
    return {
        "books": count,
        "near_count": first["count"],
        "near_p50_ms": round(indexed, 1),
        "near_unindexed_p50_ms": round(unindexed, 1),
        "near_ratio": round(unindexed / indexed, 1),
        "near_queries": queries[0] if len(set(queries)) == 1 else queries,
    }


def add_books(count: int) -> None:
    """Books at random real places, a picture each; seeding is not measured."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from books.models import Book, Picture
    from places.models import Place

    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    place_ids = list(Place.objects.order_by("pk").values_list("id", flat=True))
    rng = random.Random(42)
    books = Book.objects.bulk_create(
        (
            Book(
                owner=owner,
                place_id=rng.choice(place_ids),
                title=f"Book {n}",
                author=f"Author {n % 997}",
            )
            for n in range(count)
        ),
        batch_size=5000,
    )
    Picture.objects.bulk_create(
        (
            Picture(book=book, position=0, image=f"books/{book.pk}/cover.jpg")
            for book in books
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE books_book")
        cursor.execute("ANALYZE books_picture")


def time_requests(client, query: dict, count: int) -> float:
    """p50 of ``count`` requests, after two to warm up."""
    timings = []
    for attempt in range(count + 2):
        started = time.perf_counter()
        response = client.get("/api/books/", query)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content
        if attempt >= 2:
            timings.append(elapsed * 1000)
    return statistics.median(timings)


def drop_point_indexes() -> None:
    """Drop every index on (latitude, longitude), inside the caller's transaction."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE places_place DROP CONSTRAINT places_place_unique_point"
        )
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'places_place' "
            "AND indexdef LIKE '%%(latitude, longitude)%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    main()
