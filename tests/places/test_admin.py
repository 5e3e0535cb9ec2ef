"""Editing a place in the admin: the same limits as the API (C5), fresh distances."""

import pytest

from outbox.models import Event
from places.models import Distance, Place
from places.services import store_distances
from tests.conftest import run_relay_until_idle
from tests.factories import make_place
from tests.places.geodesy import assert_same_pairs, expected_pairs, stored_pairs

pytestmark = pytest.mark.django_db


def edit(staff, place: Place, **fields):
    form = {
        "name": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }
    form.update(fields)
    return staff.post(f"/admin/places/place/{place.pk}/change/", form)


def test_moving_a_place_measures_it_again_where_it_now_is(staff, settings):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 20}
    moved = make_place(0.0, 0.0, name="moved")
    old_neighbour = make_place(0.0, 0.1)
    new_neighbour = make_place(10.0, 10.1)
    store_distances(moved)
    assert set(stored_pairs()) == {
        (moved.pk, old_neighbour.pk),
        (old_neighbour.pk, moved.pk),
    }

    response = edit(staff, moved, latitude="10", longitude="10")

    assert response.status_code == 302
    assert Distance.objects.count() == 0
    assert Event.objects.get().topic == "place.moved"
    moved.refresh_from_db()
    assert (moved.latitude, moved.longitude, moved.distances_radius_km) == (
        10,
        10,
        None,
    )

    run_relay_until_idle()

    assert set(stored_pairs()) == {
        (moved.pk, new_neighbour.pk),
        (new_neighbour.pk, moved.pk),
    }
    assert_same_pairs(
        stored_pairs(),
        {pair: m for pair, m in expected_pairs(20).items() if moved.pk in pair},
    )


def test_renaming_a_place_keeps_its_distances(staff):
    place = make_place(0.0, 0.0, name="old name")
    make_place(0.0, 0.1)
    store_distances(place)

    response = edit(staff, place, name="new name")

    assert response.status_code == 302
    assert Place.objects.get(pk=place.pk).name == "new name"
    assert Distance.objects.count() == 2
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "field, value", [("latitude", "91"), ("longitude", "190"), ("latitude", "NaN")]
)
def test_coordinates_out_of_range_are_refused_in_the_admin(staff, field, value):
    place = make_place(1.0, 2.0)

    response = edit(staff, place, **{field: value})

    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    place.refresh_from_db()
    assert (place.latitude, place.longitude) == (1.0, 2.0)
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", "1_5"),
        ("latitude", "٤٨"),
        ("longitude", "190"),
        ("latitude", "nan"),
    ],
)
def test_the_admin_refuses_what_the_api_refuses(staff, field, value):
    place = make_place(1.0, 2.0, name="kept")

    response = edit(staff, place, **{field: value})

    assert response.status_code == 200  # the form again, with its error
    assert field in response.context["adminform"].form.errors
    place.refresh_from_db()
    assert (place.latitude, place.longitude) == (1.0, 2.0)


def test_a_place_added_in_the_admin_gets_its_distances(staff):
    neighbour = make_place(0.0, 0.05)

    staff.post(
        "/admin/places/place/add/",
        {"name": "new", "latitude": "0", "longitude": "0"},
    )
    run_relay_until_idle()

    added = Place.objects.get(name="new")
    assert Event.objects.filter(topic="place.created").count() == 1
    assert Distance.objects.filter(from_place=added, to_place=neighbour).exists()
