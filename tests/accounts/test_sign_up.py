"""Signing up, and trading a username and password for an API token."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from accounts import services
from tests.factories import make_user

pytestmark = pytest.mark.django_db

User = get_user_model()

SIGN_UP_URL = "/api/users/"
TOKEN_URL = "/api/auth/token/"
PASSWORD = "blue-ocean-parrot-81"


def sign_up(api, username="margaret", password=PASSWORD, **extra):
    data = {"username": username, "password": password, **extra}
    return api.post(SIGN_UP_URL, data, format="json")


def test_a_new_user_can_sign_up_and_use_a_token(anonymous_client):
    response = sign_up(anonymous_client, email="margaret@example.org")

    assert response.status_code == 201, response.content
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "username": "margaret",
        "email": "margaret@example.org",
    }
    assert PASSWORD not in response.content.decode()
    assert user.check_password(PASSWORD)

    token = anonymous_client.post(
        TOKEN_URL, {"username": "margaret", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 200, token.content
    assert token.json() == {"token": Token.objects.get(user=user).key}

    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    me = anonymous_client.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "margaret"


def test_a_signed_in_client_may_sign_up_another_account(client):
    response = sign_up(client, username="second")

    assert response.status_code == 201, response.content
    assert User.objects.filter(username="second").exists()


@pytest.mark.parametrize(
    "username, password, email",
    [
        ("margaret", "password", ""),
        ("margaret", "12345678", ""),
        ("margaret", "87215694302", ""),
        ("margaret", "Xy7!q", ""),
        ("margaretreads", "margaretreads1", ""),
        ("margaret", "margaret.writes@example.org", "margaret.writes@example.org"),
        ("margaret", "", ""),
    ],
    ids=[
        "common",
        "common-digits",
        "all-digits",
        "short",
        "like-username",
        "like-email",
        "blank",
    ],
)
def test_a_weak_password_is_refused(anonymous_client, username, password, email):
    response = sign_up(anonymous_client, username, password, email=email)

    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert response.json()["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "taken, wanted",
    [
        ("Margaret", "margaret"),
        ("MARGARET", "margaret"),
        ("margaret", "margaret"),
        ("Émile", "émile"),
        ("ÉMILE", "émile"),
    ],
)
def test_a_username_taken_in_any_case_is_refused(anonymous_client, taken, wanted):
    make_user(taken)

    response = sign_up(anonymous_client, username=wanted)

    assert response.status_code == 400
    assert set(response.json()) == {"username"}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "username",
    ["", "   ", "has space", "slash/name", "x" * 151],
    ids=["blank", "spaces", "space-inside", "slash", "151-chars"],
)
def test_an_unusable_username_is_refused(anonymous_client, username):
    response = sign_up(anonymous_client, username=username)

    assert response.status_code == 400
    assert set(response.json()) == {"username"}
    assert not User.objects.exists()


def test_an_invalid_email_is_refused(anonymous_client):
    response = sign_up(anonymous_client, email="not-an-address")

    assert response.status_code == 400
    assert set(response.json()) == {"email"}
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["[]", '["margaret"]', '"margaret"', "null"],
    ids=["empty-list", "list", "string", "null"],
)
def test_a_sign_up_body_that_is_not_an_object_is_refused(anonymous_client, body):
    response = anonymous_client.post(SIGN_UP_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "username, password, field",
    [
        ("margaret", "wrong-password-42", "non_field_errors"),
        ("MARGARET", PASSWORD, "non_field_errors"),
        ("nobody", PASSWORD, "non_field_errors"),
        ("margaret", "", "password"),
    ],
    ids=["wrong-password", "other-case", "unknown-user", "blank-password"],
)
def test_wrong_credentials_get_no_token(anonymous_client, username, password, field):
    make_user("margaret", password=PASSWORD)

    response = anonymous_client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not Token.objects.exists()


def test_the_database_refuses_a_name_differing_only_in_case():
    """The last line of defence when two sign-ups race past the serializer."""
    services.sign_up("Émile", "a-long-passphrase-42")

    with pytest.raises(services.UsernameTaken):
        services.sign_up("ÉMILE", "another-passphrase-42")
    assert list(User.objects.values_list("username", "username_key")) == [
        ("Émile", "émile")
    ]
