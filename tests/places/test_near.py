"""Ranking rows by their distance from any point, a page at a time."""

import random

import pytest
from geopy.distance import geodesic

from places import near
from places.near import Ranking
from tests.places.geodesy import scatter

RADIUS_M = 50_000


def brute_force(origin, rows, radius_m=RADIUS_M) -> list[tuple[str, float]]:
    """Everything within the radius by geopy, nearest first, ties in row order."""
    measured = []
    for order, (key, lat, lon) in enumerate(rows):
        meters = geodesic(origin, (lat, lon)).meters
        if meters <= radius_m:
            measured.append((meters, order, key))
    return [(key, meters) for meters, _, key in sorted(measured)]


def make_rows(origin, count: int, seed: int, spread_km: float = 70):
    """Rows around ``origin``, some beyond the radius, some at the same point."""
    rng = random.Random(seed)
    points = scatter(rng, origin, count, spread_km)
    points += rng.sample(points, count // 5)  # several books at one place
    return [(f"row{n}", lat, lon) for n, (lat, lon) in enumerate(points)]


@pytest.mark.parametrize(
    "origin", [(48.85, 2.35), (10.0, 179.9), (-16.8, -179.99), (89.8, 30.0)]
)
def test_every_slice_is_the_brute_force_order(origin):
    rows = make_rows(origin, 300, seed=1)
    expected = brute_force(origin, rows)
    assert 100 < len(expected) < len(rows)

    ranking = Ranking(*origin, RADIUS_M, rows)

    assert len(ranking) == len(expected)
    for start, stop in [
        (0, 20),
        (20, 40),
        (100, 120),
        (0, 1),
        (len(expected) - 5, 10**6),
    ]:
        assert ranking[start:stop] == expected[start:stop]
    assert list(ranking) == expected


def test_ties_keep_the_order_the_rows_came_in():
    rows = [("newest", 1.0, 1.0), ("far", 1.2, 1.0), ("older", 1.0, 1.0)]

    ranking = Ranking(1.0, 1.1, RADIUS_M, rows)

    assert [key for key, _ in ranking] == ["newest", "older", "far"]


def test_the_first_page_measures_few_geodesics(monkeypatch):
    measured = []
    real_measure = near.measure_m

    def counting_measure(*points):
        measured.append(points)
        return real_measure(*points)

    monkeypatch.setattr(near, "measure_m", counting_measure)
    origin = (45.0, 7.0)
    rows = make_rows(origin, 2000, seed=2, spread_km=45)
    ranking = Ranking(*origin, RADIUS_M, rows)

    page = ranking[0:20]

    assert page == brute_force(origin, rows)[:20]
    assert len(measured) < 100
    assert len(ranking) == len(brute_force(origin, rows))


def test_single_items_and_their_limits():
    rows = [("a", 0.0, 0.01), ("b", 0.0, 0.02), ("c", 0.0, 0.03)]
    ranking = Ranking(0.0, 0.0, RADIUS_M, rows)

    assert ranking[0][0] == "a"
    assert ranking[-1][0] == "c"
    assert ranking[2:1] == []
    with pytest.raises(IndexError):
        ranking[3]
    with pytest.raises(ValueError):
        ranking[::2]


def test_nothing_within_the_radius_is_an_empty_ranking():
    ranking = Ranking(0.0, 0.0, 1_000, [("far", 0.0, 1.0)])

    assert len(ranking) == 0
    assert ranking[0:20] == []
