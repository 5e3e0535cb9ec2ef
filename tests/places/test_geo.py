import math
import random

import pytest
from geopy.distance import geodesic, great_circle

from places.geo import bounding_box, measure_m


def test_c7_geodesic_not_great_circle():
    meters = measure_m(0.0903, 0, 0, 0)

    assert meters == pytest.approx(9985, abs=1)
    # The spherical formula would put this user outside a 10 km radius.
    assert great_circle((0.0903, 0), (0, 0)).meters > 10_000


@pytest.mark.parametrize(
    ("lat", "lon", "radius_km"),
    [
        (0, 0, 50),
        (48.85, 2.35, 50),
        (10, 179.9, 50),  # box wraps east over the antimeridian
        (-33, -179.95, 50),  # box wraps west
        (89.7, 20, 50),  # the north pole is inside the circle
        (-89.9, -100, 20),
        (70, 179.99, 200),
        (60, 0, 1),
    ],
)
def test_box_holds_every_point_within_the_radius(lat, lon, radius_km):
    """Compare the box with a brute-force geodesic over random nearby points."""
    rng = random.Random(f"{lat},{lon},{radius_km}")
    radius_m = radius_km * 1000
    box = bounding_box(lat, lon, radius_m)
    for _ in range(3000):
        bearing = rng.uniform(0, 360)
        # Points just inside and just outside the circle matter most.
        distance = radius_m * rng.uniform(0.9, 1.0)
        point = geodesic(meters=distance).destination((lat, lon), bearing)
        assert box.contains(point.latitude, point.longitude), (point, bearing)


def test_box_across_the_antimeridian_has_two_ranges():
    box = bounding_box(10, 179.9, 50_000)

    assert len(box.lon_ranges) == 2
    assert box.contains(10, -179.8)
    assert box.contains(10, 179.8)
    assert not box.contains(10, 0)


def test_box_near_a_pole_covers_every_longitude():
    box = bounding_box(89.9, 0, 50_000)

    assert box.lon_ranges == ((-180.0, 180.0),)
    assert box.lat_max == 90
    assert box.contains(89.8, 179)


def test_box_is_tight_away_from_the_poles():
    """The box must stay small, or it would not narrow the search."""
    box = bounding_box(45, 10, 50_000)
    ((low, high),) = box.lon_ranges

    assert box.lat_max - box.lat_min < 0.95
    # Exact half-width at 45 degrees is about 0.636 degrees.
    assert high - low < 2 * 0.65


def test_distance_is_symmetric_and_finite():
    there = measure_m(10, 179.99, 10, -179.99)
    back = measure_m(10, -179.99, 10, 179.99)

    assert there == pytest.approx(back)
    assert math.isfinite(there)
    assert there == pytest.approx(2192.5, abs=1)
