"""DELETE /api/auth/token/ revokes the caller's token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_user

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


def token_client(user) -> tuple[APIClient, Token]:
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api, token


def test_a_revoked_token_no_longer_signs_in():
    api, token = token_client(make_user())
    assert api.get("/api/me/").status_code == 200

    response = api.delete(TOKEN_URL)

    assert response.status_code == 204
    assert response.content == b""
    assert not Token.objects.filter(key=token.key).exists()
    after = api.get("/api/me/")
    assert after.status_code == 401
    assert after.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_revoking_leaves_other_users_tokens_alone():
    api, _ = token_client(make_user())
    other = Token.objects.create(user=make_user())

    api.delete(TOKEN_URL)

    assert list(Token.objects.values_list("key", flat=True)) == [other.key]


def test_a_new_token_can_be_obtained_after_revoking():
    user = make_user(password="correct-horse-42")
    api, old = token_client(user)
    api.delete(TOKEN_URL)

    response = APIClient().post(
        TOKEN_URL,
        {"username": user.username, "password": "correct-horse-42"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["token"] != old.key
    assert Token.objects.get(user=user).key == response.json()["token"]


def test_revoking_needs_credentials(anonymous_client):
    response = anonymous_client.delete(TOKEN_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"
