"""Registering, listing and removing push devices through the API."""

import random

import pytest
from rest_framework.test import APIClient

from notifications.models import Device
from notifications.serializers import DeviceSerializer
from tests.factories import make_user

pytestmark = pytest.mark.django_db

DEVICES_URL = "/api/devices/"


@pytest.fixture
def other_user(db):
    return make_user()


@pytest.fixture
def other_client(other_user):
    api = APIClient()
    api.force_authenticate(other_user)
    return api


def register(api, platform="fcm", token="token-a"):
    return api.post(DEVICES_URL, {"platform": platform, "token": token}, format="json")


@pytest.mark.parametrize("platform", ["fcm", "expo", "webpush"])
def test_a_device_is_registered_for_the_signed_in_user(client, user, platform):
    response = register(client, platform=platform)

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert (device.user, device.platform, device.token) == (user, platform, "token-a")
    body = response.json()
    assert (body["id"], body["platform"], body["token"]) == (
        device.pk,
        platform,
        "token-a",
    )
    assert body["active"] is True


def test_a_token_as_long_as_allowed_is_registered(client):
    # Web Push subscriptions are JSON; random text does not compress, so this
    # is the worst case for the unique index on the token.
    longest = DeviceSerializer().fields["token"].max_length
    token = random.Random(5).randbytes(longest).hex()[:longest]

    response = register(client, platform="webpush", token=token)

    assert response.status_code == 201, response.content
    assert Device.objects.get().token == token


def test_the_list_shows_only_my_devices(client, other_client):
    mine = [register(client, token=t).json()["id"] for t in ("mine-1", "mine-2")]
    register(other_client, token="theirs")

    response = client.get(DEVICES_URL)

    assert response.status_code == 200
    items = response.json()["results"]
    assert [item["id"] for item in items] == mine
    assert [item["token"] for item in items] == ["mine-1", "mine-2"]


def test_registering_my_token_again_keeps_one_row(client, user):
    first = register(client, platform="fcm").json()

    again = register(client, platform="expo")

    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    device = Device.objects.get()
    assert (device.user, device.platform) == (user, "expo")


def test_a_token_registered_by_another_user_moves_to_them(
    client, user, other_client, other_user
):
    register(client, token="shared-phone")
    Device.objects.update(active=False, deactivated_reason="Unregistered")

    response = register(other_client, platform="expo", token="shared-phone")

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert device.user == other_user
    assert (device.platform, device.active, device.deactivated_reason) == (
        "expo",
        True,
        "",
    )
    assert response.json()["active"] is True
    assert client.get(DEVICES_URL).json()["results"] == []
    assert [d["token"] for d in other_client.get(DEVICES_URL).json()["results"]] == [
        "shared-phone"
    ]


def test_i_can_remove_my_device(client):
    device_id = register(client).json()["id"]

    response = client.delete(f"{DEVICES_URL}{device_id}/")

    assert response.status_code == 204
    assert not Device.objects.exists()


def test_another_user_cannot_see_or_remove_my_device(client, other_client):
    device_id = register(client).json()["id"]

    listed = other_client.get(DEVICES_URL)
    removed = other_client.delete(f"{DEVICES_URL}{device_id}/")

    assert listed.json()["results"] == []
    assert removed.status_code == 404
    assert Device.objects.filter(pk=device_id).exists()


@pytest.mark.parametrize("device_id", ["999999", "abc"])
def test_an_unknown_device_is_a_json_404_with_detail_and_code(client, device_id):
    response = client.delete(f"{DEVICES_URL}{device_id}/")

    assert response.status_code == 404
    body = response.json()
    assert body["detail"]
    assert body["code"] == "not_found"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"platform": "sms", "token": "t"}, "platform"),
        ({"platform": "FCM", "token": "t"}, "platform"),
        ({"platform": "", "token": "t"}, "platform"),
        ({"token": "t"}, "platform"),
        ({"platform": "fcm", "token": ""}, "token"),
        ({"platform": "fcm", "token": "   "}, "token"),
        ({"platform": "fcm"}, "token"),
        ({"platform": "fcm", "token": None}, "token"),
        ({"platform": "fcm", "token": "t" * 4097}, "token"),
        ({"platform": "fcm", "token": "to\x00ken"}, "token"),
    ],
    ids=[
        "unknown-platform",
        "upper-case-platform",
        "blank-platform",
        "no-platform",
        "empty-token",
        "blank-token",
        "no-token",
        "null-token",
        "long-token",
        "nul-in-token",
    ],
)
def test_an_invalid_device_is_refused(client, data, field):
    response = client.post(DEVICES_URL, data, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not Device.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"fcm"', "null"])
def test_a_device_body_that_is_not_an_object_is_refused(client, body):
    response = client.post(DEVICES_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [("get", DEVICES_URL), ("post", DEVICES_URL), ("delete", f"{DEVICES_URL}1/")],
)
def test_devices_need_a_signed_in_user(anonymous_client, method, path):
    data = {"platform": "fcm", "token": "t"} if method == "post" else None

    response = getattr(anonymous_client, method)(path, data, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Device.objects.exists()
