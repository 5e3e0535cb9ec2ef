"""Finding and creating places, and storing the distances between them."""

import logging

from django.conf import settings

from outbox.publisher import publish
from places.geo import bounding_box, measure_m
from places.models import Distance, Place

logger = logging.getLogger(__name__)

PLACE_CREATED = "place.created"


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


def get_distance_radius_m() -> float:
    return settings.PLACES["DISTANCE_RADIUS_KM"] * 1000.0


def find_neighbours(place: Place, radius_m: float) -> list[tuple[int, float]]:
    """Return (place id, metres) for every other place within ``radius_m``."""
    box = bounding_box(place.latitude, place.longitude, radius_m)
    candidates = (
        Place.objects.filter(box.as_q())
        .exclude(pk=place.pk)
        .values_list("id", "latitude", "longitude")
    )
    neighbours = []
    for other_id, lat, lon in candidates.iterator(chunk_size=2000):
        meters = measure_m(place.latitude, place.longitude, lat, lon)
        if meters <= radius_m:
            neighbours.append((other_id, meters))
    return neighbours


def store_distances(place: Place) -> int:
    """Store the distances between ``place`` and its neighbours, both ways.

    Idempotent: pairs already stored are left as they are.
    """
    neighbours = find_neighbours(place, get_distance_radius_m())
    rows = []
    for other_id, meters in neighbours:
        rows.append(
            Distance(from_place_id=place.pk, to_place_id=other_id, meters=meters)
        )
        rows.append(
            Distance(from_place_id=other_id, to_place_id=place.pk, meters=meters)
        )
    Distance.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    logger.info(
        "stored distances for place %s: %s neighbours",
        place.pk,
        len(neighbours),
        extra={"place_id": place.pk, "neighbours": len(neighbours)},
    )
    return len(neighbours)
