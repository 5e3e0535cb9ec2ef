"""Finding and creating places, and storing the distances between them."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.db.models import Q

from outbox.publisher import publish
from places.geo import bounding_box, select_within
from places.models import Distance, Place

logger = logging.getLogger(__name__)

PLACE_CREATED = "place.created"
PLACE_MOVED = "place.moved"
# Rows per INSERT on SQLite: large enough to amortise the statement, small
# enough to stay well inside its limit on parameters.
INSERT_BATCH = 2000
DISTANCE_COLUMNS = ["from_place", "to_place", "meters"]


def get_or_create_place(latitude: float, longitude: float, name: str = "") -> Place:
    """Return the place at exactly this point, creating and announcing it if new.

    Call inside a transaction: a new place is published with it.
    """
    place, created = Place.objects.get_or_create(
        latitude=latitude, longitude=longitude, defaults={"name": name}
    )
    if created:
        publish(PLACE_CREATED, {"place_id": place.pk}, key=f"place:{place.pk}")
    return place


def add_place(place: Place) -> None:
    """Save a new place made elsewhere (the admin) and announce it.

    Call inside a transaction, as for ``get_or_create_place``.
    """
    place.save()
    publish(PLACE_CREATED, {"place_id": place.pk}, key=f"place:{place.pk}")


def move_place(place: Place) -> None:
    """Save a place's new coordinates, forget its distances, announce the move.

    Call inside a transaction. The place is pending again until the handler
    of ``place.moved`` (or the backfill) measures it.
    """
    Distance.objects.filter(Q(from_place=place) | Q(to_place=place)).delete()
    place.distances_radius_km = None
    place.save()
    publish(PLACE_MOVED, {"place_id": place.pk}, key=f"place:{place.pk}")


def get_distance_radius_km() -> float:
    return float(settings.PLACES["DISTANCE_RADIUS_KM"])


def get_distance_radius_m() -> float:
    return get_distance_radius_km() * 1000.0


def find_neighbours(
    place: Place, radius_m: float, among: Q | None = None
) -> list[tuple[int, float]]:
    """Return (place id, metres) for every other place within ``radius_m``.

    Only the places in an indexed bounding box are read, so the cost grows
    with the neighbourhood, not with the number of places. ``among`` narrows
    the candidates further (the backfill uses it to measure each pair once).
    """
    box = bounding_box(place.latitude, place.longitude, radius_m)
    candidates = Place.objects.filter(box.as_q()).exclude(pk=place.pk)
    if among is not None:
        candidates = candidates.filter(among)
    rows = candidates.values_list("id", "latitude", "longitude")
    return select_within(place.latitude, place.longitude, radius_m, rows)


def save_pairs(pairs: Iterable[tuple[int, int, float]]) -> None:
    """Store (place, other place, metres) in both directions; skip known pairs."""
    rows = []
    for place_id, other_id, meters in pairs:
        rows.append((place_id, other_id, meters))
        rows.append((other_id, place_id, meters))
    if not rows:
        return
    # One order for every writer: two relays storing overlapping pairs then
    # wait for each other instead of deadlocking on the unique index.
    rows.sort()
    if connection.vendor == "postgresql":
        insert_as_arrays(rows)
        return
    Distance.objects.bulk_create(
        (Distance(from_place_id=a, to_place_id=b, meters=m) for a, b, m in rows),
        batch_size=INSERT_BATCH,
        ignore_conflicts=True,
    )


def insert_as_arrays(rows: list[tuple[int, int, float]]) -> None:
    """One INSERT of three arrays: a third cheaper than bulk_create's rows.

    Most of what remains is PostgreSQL's own (the foreign key checks and the
    three indexes).
    """
    table = Distance._meta.db_table
    columns = [Distance._meta.get_field(name).column for name in DISTANCE_COLUMNS]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::double precision[]) "
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])


def store_distances(place: Place) -> int:
    """Store the distances between ``place`` and every place within the radius.

    Both directions are stored, so "what is near X" reads one index range.
    Idempotent: pairs already stored are left as they are. Marks the place as
    done at the configured radius, so the backfill leaves it alone.
    """
    radius_km = get_distance_radius_km()
    neighbours = find_neighbours(place, radius_km * 1000)
    save_pairs((place.pk, other_id, meters) for other_id, meters in neighbours)
    Place.objects.filter(pk=place.pk).update(distances_radius_km=radius_km)

    logger.info(
        "stored distances for place %s: %s neighbours",
        place.pk,
        len(neighbours),
        extra={"place_id": place.pk, "neighbours": len(neighbours)},
    )
    return len(neighbours)


def get_nearby_places(place: Place, limit: int) -> list[Place]:
    """Return the ``limit`` nearest places, each with its ``distance_m``.

    Reads the stored distances (one index range), so it knows only what the
    handler or the backfill has stored, up to the configured radius.
    """
    rows = (
        Distance.objects.filter(from_place=place, meters__lte=get_distance_radius_m())
        .select_related("to_place")
        .order_by("meters", "to_place_id")[:limit]
    )
    nearby = []
    for row in rows:
        row.to_place.distance_m = row.meters
        nearby.append(row.to_place)
    return nearby
