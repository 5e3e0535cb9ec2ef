import pytest
from django.db import transaction

from outbox.models import Delivery, Event
from places.models import Distance, Place
from places.services import PLACE_CREATED, get_or_create_place, store_distances
from tests.conftest import run_relay_until_idle
from tests.factories import make_place
from tests.places.geodesy import (
    AWKWARD_SPOTS,
    assert_same_pairs,
    expected_pairs,
    make_cloud,
    stored_pairs,
)

pytestmark = pytest.mark.django_db


def stored(place_a: Place, place_b: Place) -> list[float]:
    return list(
        Distance.objects.filter(from_place=place_a, to_place=place_b).values_list(
            "meters", flat=True
        )
    )


def test_c7_new_place_stores_geodesic_distance_both_ways():
    user_place = make_place(0.0903, 0)
    with transaction.atomic():
        book_place = get_or_create_place(0.0, 0.0, "origin")
    run_relay_until_idle()

    (there,) = stored(book_place, user_place)
    (back,) = stored(user_place, book_place)
    assert there == pytest.approx(9985, abs=1)
    assert back == there


def test_only_places_within_the_radius_are_stored(settings):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 10}
    near = make_place(0.0903, 0)  # 9.985 km
    far = make_place(0.0905, 0)  # 10.007 km
    centre = make_place(0, 0)

    assert store_distances(centre) == 1

    assert stored(centre, near) != []
    assert stored(centre, far) == []
    assert Distance.objects.count() == 2


@pytest.mark.parametrize(
    ("latitude", "stored_m"),
    [(0.0903, 9985), (0.09, 9952), (0.0904, 9996), (0.09043, 9999.6)],
)
def test_c7_neighbours_just_inside_a_10_km_radius_are_stored(
    settings, latitude, stored_m
):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 10}
    user_place = make_place(latitude, 0)
    book_place = make_place(0, 0)

    assert store_distances(book_place) == 1

    (meters,) = stored(book_place, user_place)
    assert meters == pytest.approx(stored_m, abs=1)
    assert stored(user_place, book_place) == [meters]


@pytest.mark.parametrize("latitude", [0.09044, 0.0905, 0.0906, 0.09058])
def test_c7_neighbours_just_beyond_a_10_km_radius_are_not_stored(settings, latitude):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 10}
    make_place(latitude, 0)
    book_place = make_place(0, 0)

    assert store_distances(book_place) == 0

    assert Distance.objects.count() == 0


def test_new_places_get_exactly_the_pairs_geopy_finds_around_awkward_spots(settings):
    """Antimeridian, poles, equator: the handler agrees with brute force."""
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 20}
    make_cloud(seed=3)
    with transaction.atomic():
        new = [get_or_create_place(lat, lon) for lat, lon in AWKWARD_SPOTS]
    run_relay_until_idle()

    new_ids = {place.pk for place in new}
    expected = {
        pair: meters
        for pair, meters in expected_pairs(radius_km=20).items()
        if new_ids & set(pair)
    }
    assert len(expected) > 100
    assert_same_pairs(stored_pairs(), expected)


def test_the_handler_marks_the_place_done_at_the_radius(settings):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 25}
    other = make_place(0.1, 0.1)
    with transaction.atomic():
        place = get_or_create_place(0.0, 0.0)
    run_relay_until_idle()

    place.refresh_from_db()
    other.refresh_from_db()
    assert place.distances_radius_km == 25
    assert other.distances_radius_km is None
    assert Distance.objects.count() == 2


def test_pair_across_the_antimeridian_is_stored():
    east = make_place(10, 179.99)
    west = make_place(10, -179.99)

    store_distances(west)

    (meters,) = stored(west, east)
    assert meters == pytest.approx(2192.5, abs=1)
    assert stored(east, west) == [meters]


def test_pair_across_the_pole_is_stored():
    one = make_place(89.99, 0)
    other = make_place(89.99, 180)

    store_distances(one)

    (meters,) = stored(one, other)
    assert meters == pytest.approx(2234.0, abs=5)


def test_storing_again_changes_nothing():
    make_place(0.01, 0.01)
    centre = make_place(0, 0)
    store_distances(centre)
    rows = list(Distance.objects.values_list("from_place", "to_place", "meters"))

    store_distances(centre)

    assert (
        list(Distance.objects.values_list("from_place", "to_place", "meters")) == rows
    )


def test_existing_point_is_reused_and_not_announced_again():
    with transaction.atomic():
        first = get_or_create_place(45.5, 9.25, "Milan")
    with transaction.atomic():
        again = get_or_create_place(45.5, 9.25, "another name")

    assert again.pk == first.pk
    assert again.name == "Milan"
    assert Event.objects.filter(topic=PLACE_CREATED).count() == 1
    assert Delivery.objects.filter(subscriber="places.store_distances").count() == 1
