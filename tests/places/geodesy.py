"""Test data around awkward spots, and the brute-force answers to check against.

The oracle is geopy's own geodesic, measured between every two places: slow
and obviously right, and independent of the code under test.
"""

import random

from geopy.distance import geodesic

from places.models import Distance, Place

# Where boxes and geodesics go wrong: the antimeridian on both sides, both
# poles, the equator and the prime meridian, and a city.
AWKWARD_SPOTS = [
    (10.0, 179.97),
    (-16.8, -179.98),
    (89.96, 0.0),
    (-89.9, 45.0),
    (0.0, 0.0),
    (48.85, 2.35),
]


def scatter(
    rng: random.Random, centre: tuple[float, float], count: int, spread_km: float
) -> list[tuple[float, float]]:
    """Points at random bearings up to ``spread_km`` from ``centre``."""
    points = []
    for _ in range(count):
        point = geodesic(kilometers=rng.uniform(0, spread_km)).destination(
            centre, rng.uniform(0, 360)
        )
        points.append((point.latitude, point.longitude))
    return points


def make_cloud(seed: int = 1, per_spot: int = 20, spread_km: float = 30) -> list:
    """Pending places (as a bulk load leaves them) around every awkward spot."""
    rng = random.Random(seed)
    points = []
    for spot in AWKWARD_SPOTS:
        points.extend(scatter(rng, spot, per_spot, spread_km))
    return Place.objects.bulk_create(
        Place(latitude=lat, longitude=lon, name=f"cloud {n}")
        for n, (lat, lon) in enumerate(points)
    )


def expected_pairs(radius_km: float) -> dict[tuple[int, int], float]:
    """Every ordered pair of places within ``radius_km``, by brute force."""
    places = list(Place.objects.values_list("id", "latitude", "longitude"))
    pairs = {}
    for position, (one, lat1, lon1) in enumerate(places):
        for other, lat2, lon2 in places[position + 1 :]:
            meters = geodesic((lat1, lon1), (lat2, lon2)).meters
            if meters <= radius_km * 1000:
                pairs[one, other] = pairs[other, one] = meters
    return pairs


def stored_pairs() -> dict[tuple[int, int], float]:
    rows = Distance.objects.values_list("from_place", "to_place", "meters")
    return {(one, other): meters for one, other, meters in rows}


def assert_same_pairs(stored: dict, expected: dict) -> None:
    assert stored.keys() == expected.keys()
    for pair, meters in expected.items():
        assert abs(stored[pair] - meters) < 1e-6, (pair, stored[pair], meters)
