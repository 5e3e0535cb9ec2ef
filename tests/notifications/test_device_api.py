"""Registering, listing and removing push devices through the API."""

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rest_framework.test import APIClient

from notifications.models import Device
from notifications.serializers import DeviceSerializer
from tests.factories import make_user
from tests.notifications.peers import b64url

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


@pytest.mark.parametrize(
    "platform, token",
    [
        ("fcm", "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"),
        ("expo", "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"),
        ("expo", "ExpoPushToken[yyyyyyyyyyyyyyyyyyyyyy]"),
    ],
)
def test_a_device_is_registered_for_the_signed_in_user(client, user, platform, token):
    response = register(client, platform=platform, token=token)

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert (device.user, device.platform, device.token) == (user, platform, token)
    body = response.json()
    assert (body["id"], body["platform"], body["token"]) == (device.pk, platform, token)
    assert body["active"] is True
    assert body["subscription"] is None


def test_a_token_as_long_as_allowed_is_registered(client):
    # Random text does not compress, so this is the worst case for the unique
    # index on the token.
    longest = DeviceSerializer().fields["token"].max_length
    token = random.Random(5).randbytes(longest).hex()[:longest]

    response = register(client, platform="fcm", token=token)

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
    first = register(client).json()
    Device.objects.update(active=False, deactivated_reason="UNREGISTERED")

    again = register(client)

    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    device = Device.objects.get()
    assert (device.user, device.platform, device.active) == (user, "fcm", True)


def test_a_token_registered_by_another_user_moves_to_them(
    client, user, other_client, other_user
):
    register(client, token="shared-phone")
    Device.objects.update(active=False, deactivated_reason="Unregistered")

    response = register(other_client, token="shared-phone")

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert device.user == other_user
    assert (device.platform, device.active, device.deactivated_reason) == (
        "fcm",
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
        ({"platform": "fcm", "token": "two words"}, "token"),
        ({"platform": "fcm", "token": "tok/en"}, "token"),
        ({"platform": "expo", "token": "abc123"}, "token"),
        ({"platform": "expo", "token": "ExponentPushToken[]"}, "token"),
        ({"platform": "expo", "token": "ExponentPushToken[a b]"}, "token"),
        ({"platform": "fcm", "token": "t", "subscription": {}}, "subscription"),
        ({"platform": "webpush", "token": "t"}, "subscription"),
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
        "space-in-fcm-token",
        "slash-in-fcm-token",
        "expo-without-brackets",
        "expo-empty",
        "expo-space",
        "subscription-for-fcm",
        "webpush-without-subscription",
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


def browser_subscription(endpoint="https://fcm.googleapis.com/fcm/send/dGVzdA:APA9"):
    """What a browser's PushSubscription.toJSON() gives, with a real P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(bytes(range(16)))},
    }


def register_browser(api, subscription):
    data = {"platform": "webpush", "subscription": subscription}
    return api.post(DEVICES_URL, data, format="json")


def test_a_browser_is_registered_by_its_push_subscription(client, user):
    subscription = browser_subscription()

    response = register_browser(client, subscription)

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert (device.user, device.platform) == (user, "webpush")
    assert device.token == subscription["endpoint"]
    assert device.keys == subscription["keys"]
    body = response.json()
    assert body["token"] == subscription["endpoint"]
    assert body["subscription"] == {
        "endpoint": subscription["endpoint"],
        "keys": subscription["keys"],
    }


def test_a_subscription_registered_again_moves_with_its_new_keys(
    client, other_client, other_user
):
    first = browser_subscription()
    register_browser(client, first)
    renewed = browser_subscription()

    response = register_browser(other_client, renewed)

    assert response.status_code == 201, response.content
    device = Device.objects.get()
    assert (device.user, device.keys) == (other_user, renewed["keys"])
    assert client.get(DEVICES_URL).json()["results"] == []


def with_keys(**keys):
    subscription = browser_subscription()
    return {**subscription, "keys": {**subscription["keys"], **keys}}


def without(name):
    subscription = browser_subscription()
    subscription.pop(name)
    return subscription


@pytest.mark.parametrize(
    "subscription, path",
    [
        pytest.param(None, [], id="null"),
        pytest.param("https://fcm.googleapis.com/x", ["non_field_errors"], id="string"),
        pytest.param(without("endpoint"), ["endpoint"], id="no-endpoint"),
        pytest.param(without("keys"), ["keys"], id="no-keys"),
        pytest.param(
            browser_subscription("http://fcm.googleapis.com/fcm/send/x"),
            ["endpoint"],
            id="plain-http",
        ),
        pytest.param(
            browser_subscription("https://push.example.net/send/x"),
            ["endpoint"],
            id="unknown-push-service",
        ),
        pytest.param(
            browser_subscription("https://fcm.googleapis.com.evil.test/x"),
            ["endpoint"],
            id="lookalike-host",
        ),
        pytest.param(
            browser_subscription("https://user@fcm.googleapis.com/x"),
            ["endpoint"],
            id="userinfo",
        ),
        pytest.param(browser_subscription("not a url"), ["endpoint"], id="not-a-url"),
        pytest.param(with_keys(p256dh="AAAA"), ["keys", "p256dh"], id="short-key"),
        pytest.param(
            with_keys(p256dh=b64url(b"\x04" + bytes(64))),
            ["keys", "p256dh"],
            id="key-off-the-curve",
        ),
        pytest.param(with_keys(p256dh="###"), ["keys", "p256dh"], id="not-base64"),
        pytest.param(
            with_keys(auth=b64url(bytes(8))), ["keys", "auth"], id="short-auth"
        ),
        pytest.param(with_keys(auth=""), ["keys", "auth"], id="empty-auth"),
    ],
)
def test_an_invalid_subscription_is_refused_with_a_field_error(
    client, subscription, path
):
    response = register_browser(client, subscription)

    assert response.status_code == 400
    assert set(response.json()) == {"subscription"}
    errors = response.json()["subscription"]
    for name in path:
        assert name in errors, errors
        errors = errors[name]
    assert not Device.objects.exists()


def test_the_allowed_push_services_follow_the_settings(client, settings):
    settings.NOTIFICATIONS = {
        **settings.NOTIFICATIONS,
        "WEBPUSH_HOSTS": ["push.example.net"],
    }

    accepted = register_browser(
        client, browser_subscription("https://push.example.net/x")
    )
    refused = register_browser(client, browser_subscription())

    assert accepted.status_code == 201, accepted.content
    assert refused.status_code == 400
