"""``GET /api/places/?near=`` and ``GET /api/places/{id}/`` with nearby places."""

import pytest
from geopy.distance import geodesic

from places.models import Place
from places.services import store_distances
from tests.factories import make_place

pytestmark = pytest.mark.django_db

PLACES_URL = "/api/places/"


def meters_between(one: Place, other: Place) -> float:
    return geodesic((one.latitude, one.longitude), (other.latitude, other.longitude)).m


def test_places_near_a_point_come_nearest_first_with_their_distance(anonymous_client):
    far = make_place(0.3, 0.0, name="far")  # 33 km
    beyond = make_place(0.5, 0.0, name="beyond")  # 55 km
    near = make_place(0.0, 0.1, name="near")  # 11 km
    make_place(0.0, 0.0, name="here")

    response = anonymous_client.get(PLACES_URL, {"near": "0,0", "radius_km": "50"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [item["name"] for item in body["results"]] == ["here", "near", "far"]
    assert body["results"][1] == {
        "id": near.pk,
        "name": "near",
        "latitude": 0.0,
        "longitude": 0.1,
        "distance_m": pytest.approx(geodesic((0, 0), (0, 0.1)).m, abs=1e-6),
    }
    assert body["results"][0]["distance_m"] == 0
    assert body["results"][2]["distance_m"] == pytest.approx(33_171.6, abs=1)
    assert beyond.pk not in [item["id"] for item in body["results"]]
    assert far.pk == body["results"][2]["id"]


def test_places_across_the_antimeridian_are_found(anonymous_client):
    east = make_place(-16.8, 179.95)
    west = make_place(-16.8, -179.95)

    response = anonymous_client.get(PLACES_URL, {"near": "-16.8,-179.99"})

    results = response.json()["results"]
    assert [item["id"] for item in results] == [west.pk, east.pk]
    assert results[1]["distance_m"] == pytest.approx(
        geodesic((-16.8, -179.99), (-16.8, 179.95)).m, abs=1e-6
    )


def test_places_near_are_paginated(anonymous_client):
    places = [make_place(0.0, n / 1000) for n in range(25)]

    first = anonymous_client.get(PLACES_URL, {"near": "0,0"}).json()
    second = anonymous_client.get(first["next"]).json()

    assert first["count"] == 25
    assert [item["id"] for item in first["results"]] == [p.pk for p in places[:20]]
    assert [item["id"] for item in second["results"]] == [p.pk for p in places[20:]]
    assert "near=0%2C0" in first["next"]


def test_without_near_places_are_listed_by_id_without_distance(anonymous_client):
    second = make_place(2.0, 2.0)
    first = make_place(1.0, 1.0)

    results = anonymous_client.get(PLACES_URL).json()["results"]

    assert [item["id"] for item in results] == [second.pk, first.pk]
    assert "distance_m" not in results[0]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ({"near": "91,0"}, "near"),
        ({"near": "0,190"}, "near"),
        ({"near": "nan,0"}, "near"),
        ({"near": "48,85,2,35"}, "near"),
        ({"near": "0,0", "radius_km": "51"}, "radius_km"),
        ({"near": "0,0", "radius_km": "-1"}, "radius_km"),
        ({"radius_km": "5"}, "radius_km"),
    ],
)
def test_bad_near_parameters_are_a_400_naming_them(anonymous_client, query, parameter):
    response = anonymous_client.get(PLACES_URL, query)

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [parameter]
    assert all(isinstance(message, str) and message for message in body[parameter])


def test_a_place_shows_its_nearest_places_from_the_stored_distances(
    anonymous_client,
):
    centre = make_place(0.0, 0.0, name="centre")
    around = [make_place(0.0, n / 100, name=f"east {n}") for n in range(25, 0, -1)]
    make_place(1.0, 1.0, name="too far")  # 157 km
    store_distances(centre)

    response = anonymous_client.get(f"{PLACES_URL}{centre.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"]) == (centre.pk, "centre")
    nearest = list(reversed(around))[:20]
    assert [item["id"] for item in body["nearby"]] == [p.pk for p in nearest]
    for item, place in zip(body["nearby"], nearest, strict=True):
        assert item["distance_m"] == pytest.approx(meters_between(centre, place))
    assert body["nearby"][0] == {
        "id": nearest[0].pk,
        "name": "east 1",
        "latitude": 0.0,
        "longitude": 0.01,
        "distance_m": pytest.approx(1113.2, abs=0.1),
    }


def test_nearby_places_beyond_a_shrunk_radius_are_not_shown(anonymous_client, settings):
    centre = make_place(0.0, 0.0)
    inside = make_place(0.0, 0.05)  # 5.6 km
    make_place(0.0, 0.2)  # 22 km
    store_distances(centre)
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 10}

    body = anonymous_client.get(f"{PLACES_URL}{centre.pk}/").json()

    assert [item["id"] for item in body["nearby"]] == [inside.pk]


def test_a_place_without_stored_distances_has_no_nearby_places(anonymous_client):
    place = make_place(0.0, 0.0)
    make_place(0.0, 0.01)

    body = anonymous_client.get(f"{PLACES_URL}{place.pk}/").json()

    assert body["nearby"] == []
