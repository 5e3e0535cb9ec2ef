import math
import random

import pytest
from geopy.distance import geodesic, great_circle

from places import geo
from places.geo import bound_m, bounding_box, measure_m, select_within


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


def random_pairs(seed: int, count: int):
    """Pairs at every scale: neighbours, across the antimeridian, near the
    poles, and anywhere on the globe (antipodes included)."""
    rng = random.Random(seed)
    for n in range(count):
        lat1, lon1 = rng.uniform(-90, 90), rng.uniform(-180, 180)
        if n % 3 == 0:
            lat2, lon2 = rng.uniform(-90, 90), rng.uniform(-180, 180)
        else:
            spread = 0.5 if n % 3 == 1 else 0.001
            lat2 = min(90.0, max(-90.0, lat1 + rng.uniform(-spread, spread)))
            lon2 = (lon1 + rng.uniform(-spread, spread) + 180) % 360 - 180
        yield lat1, lon1, lat2, lon2
    yield 89.99, 0, 89.99, 180
    yield -90, 0, 90, 0
    yield 0, 0, 0, 180
    yield 10, 179.99, 10, -179.99
    yield 1, 2, 1, 2


def test_distance_is_geopys_to_the_last_bit():
    for lat1, lon1, lat2, lon2 in random_pairs(seed=7, count=2000):
        expected = geodesic((lat1, lon1), (lat2, lon2)).meters

        assert measure_m(lat1, lon1, lat2, lon2) == expected


def test_bounds_hold_the_geodesic_and_are_within_about_one_percent():
    for lat1, lon1, lat2, lon2 in random_pairs(seed=8, count=20_000):
        meters = measure_m(lat1, lon1, lat2, lon2)

        low, high = bound_m(lat1, lon1, lat2, lon2)

        assert low <= meters <= high, (lat1, lon1, lat2, lon2)
        assert high <= low * 1.0102 + 1e-9


def test_select_within_keeps_the_c7_neighbour_and_drops_the_one_beyond():
    candidates = [("near", 0.0903, 0.0), ("beyond", 0.0905, 0.0), ("self", 0, 0)]

    within = select_within(0, 0, 10_000, candidates)

    assert [key for key, _ in within] == ["near", "self"]
    assert within[0][1] == pytest.approx(9985, abs=1)
    assert within[1][1] == 0


def test_select_within_does_not_measure_what_the_bound_rules_out(monkeypatch):
    measured = []
    real_measure = geo.measure_m

    def counting_measure(*points):
        measured.append(points[2:])
        return real_measure(*points)

    monkeypatch.setattr(geo, "measure_m", counting_measure)
    box_corner = (0.44, 0.44)  # in the 50 km box, about 69 km away
    inside = (0.2, 0.2)

    within = select_within(0, 0, 50_000, [("corner", *box_corner), ("in", *inside)])

    assert [key for key, _ in within] == ["in"]
    assert measured == [inside]
