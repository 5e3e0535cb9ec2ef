"""Fields an endpoint does not take are refused, not dropped (C3's neighbours)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url", "body", "field", "message"),
    [
        ("patch", "/api/me/", {"username": "other"}, "username", "Unknown field."),
        ("patch", "/api/me/", {"is_staff": True}, "is_staff", "Unknown field."),
        (
            "patch",
            "/api/me/",
            {"notifications": {"colour": "red"}},
            "colour",
            "Unknown field.",
        ),
        (
            "post",
            "/api/devices/",
            {"platform": "fcm", "token": "t" * 40, "active": False},
            "active",
            "This field is read-only.",
        ),
    ],
)
def test_signed_in_endpoints_refuse_fields_they_do_not_take(
    client, method, url, body, field, message
):
    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_sign_up_refuses_fields_it_does_not_take(anonymous_client):
    response = anonymous_client.post(
        "/api/users/",
        {"username": "newcomer", "password": "a-long-passphrase-42", "is_staff": True},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"is_staff": ["Unknown field."]}
