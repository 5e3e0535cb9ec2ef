import pytest
from django.db import transaction

from outbox.models import Delivery, Event
from places.models import Distance, Place
from places.services import PLACE_CREATED, get_or_create_place, store_distances
from tests.conftest import run_relay_until_idle
from tests.factories import make_place

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
