"""Reading and changing where a user wants to hear about books: /api/me/."""

import pytest

from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

ME_URL = "/api/me/"


def patch_me(api, notifications):
    return api.patch(ME_URL, {"notifications": notifications}, format="json")


def test_a_new_user_sees_the_default_preference(client, user):
    response = client.get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": user.username,
        "notifications": {
            "latitude": None,
            "longitude": None,
            "radius_km": 10.0,
            "enabled": True,
        },
    }


def test_a_patch_sets_the_preference_and_a_get_shows_it(client, user):
    changes = {"latitude": -33.8688, "longitude": 151.2093, "radius_km": 7.5}

    response = patch_me(client, {**changes, "enabled": False})

    assert response.status_code == 200, response.content
    expected = {**changes, "enabled": False}
    assert response.json()["notifications"] == expected
    assert client.get(ME_URL).json()["notifications"] == expected
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.latitude, stored.longitude, stored.radius_km, stored.enabled) == (
        -33.8688,
        151.2093,
        7.5,
        False,
    )


def test_a_patch_changes_only_what_it_names(client, user):
    patch_me(client, {"latitude": 1.5, "longitude": 2.5, "radius_km": 3})

    response = patch_me(client, {"enabled": False})

    assert response.json()["notifications"] == {
        "latitude": 1.5,
        "longitude": 2.5,
        "radius_km": 3.0,
        "enabled": False,
    }


@pytest.mark.parametrize("radius_km", [0, 50])
def test_the_radius_may_reach_the_distance_radius(client, settings, radius_km):
    assert settings.PLACES["DISTANCE_RADIUS_KM"] == 50

    response = patch_me(client, {"radius_km": radius_km})

    assert response.status_code == 200, response.content
    assert response.json()["notifications"]["radius_km"] == radius_km


def test_the_radius_limit_follows_the_distance_radius(client, settings):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 20}

    refused = patch_me(client, {"radius_km": 20.5})
    accepted = patch_me(client, {"radius_km": 20})

    assert refused.status_code == 400
    assert set(refused.json()) == {"radius_km"}
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    "notifications, field",
    [
        pytest.param({"radius_km": 50.001}, "radius_km", id="radius-over-limit"),
        pytest.param({"radius_km": 1000}, "radius_km", id="radius-far-over"),
        pytest.param({"radius_km": -1}, "radius_km", id="radius-negative"),
        pytest.param({"radius_km": "NaN"}, "radius_km", id="radius-nan"),
        pytest.param({"radius_km": "Infinity"}, "radius_km", id="radius-inf"),
        pytest.param({"radius_km": None}, "radius_km", id="radius-null"),
        pytest.param({"radius_km": True}, "radius_km", id="radius-boolean"),
        pytest.param({"radius_km": "1_5"}, "radius_km", id="radius-underscore"),
        pytest.param({"latitude": 45}, "longitude", id="latitude-alone"),
        pytest.param({"longitude": 45}, "latitude", id="longitude-alone"),
        pytest.param({"latitude": 91, "longitude": 0}, "latitude", id="lat-91"),
        pytest.param({"latitude": -90.5, "longitude": 0}, "latitude", id="lat-90.5"),
        pytest.param({"latitude": 0, "longitude": 180.01}, "longitude", id="lon-180"),
        pytest.param({"latitude": "NaN", "longitude": 0}, "latitude", id="lat-nan"),
        pytest.param({"latitude": "1,5", "longitude": 0}, "latitude", id="lat-comma"),
        pytest.param({"latitude": True, "longitude": 0}, "latitude", id="lat-boolean"),
        pytest.param({"enabled": "maybe"}, "enabled", id="enabled-maybe"),
        pytest.param({"enabled": None}, "enabled", id="enabled-null"),
    ],
)
def test_an_invalid_preference_is_refused(client, user, notifications, field):
    response = patch_me(client, notifications)

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not NotificationPreference.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    "change, missing",
    [({"latitude": None}, "latitude"), ({"longitude": None}, "longitude")],
)
def test_clearing_half_of_a_stored_point_is_refused(client, user, change, missing):
    patch_me(client, {"latitude": 1.5, "longitude": 2.5})

    response = patch_me(client, change)

    assert response.status_code == 400
    assert set(response.json()) == {missing}
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.latitude, stored.longitude) == (1.5, 2.5)


def test_a_stored_point_can_be_cleared_whole(client, user):
    patch_me(client, {"latitude": 1.5, "longitude": 2.5})

    response = patch_me(client, {"latitude": None, "longitude": None})

    assert response.status_code == 200
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.latitude, stored.longitude) == (None, None)


def test_a_new_latitude_alone_moves_a_stored_point(client, user):
    patch_me(client, {"latitude": 1.5, "longitude": 2.5})

    response = patch_me(client, {"latitude": -4.25})

    assert response.status_code == 200
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.latitude, stored.longitude) == (-4.25, 2.5)


@pytest.mark.parametrize(
    "body, field",
    [
        ("[]", "non_field_errors"),
        ('[{"notifications": {"radius_km": 5}}]', "non_field_errors"),
        ('"notifications"', "non_field_errors"),
        ("42", "non_field_errors"),
        ('{"notifications": "radius_km=5"}', "non_field_errors"),
        ('{"notifications": ["radius_km", 5]}', "non_field_errors"),
        ('{"notifications": null}', "non_field_errors"),
    ],
    ids=[
        "empty-list",
        "list",
        "string",
        "number",
        "notifications-string",
        "notifications-list",
        "notifications-null",
    ],
)
def test_a_body_of_the_wrong_shape_is_refused(client, user, body, field):
    response = client.patch(ME_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not NotificationPreference.objects.filter(user=user).exists()


@pytest.mark.parametrize("method", ["get", "patch"])
def test_me_needs_a_signed_in_user(anonymous_client, method):
    response = getattr(anonymous_client, method)(ME_URL, {}, format="json")

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["detail"]
    assert not NotificationPreference.objects.exists()
