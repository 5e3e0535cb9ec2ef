import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "url", ["/api/users/", "/api/auth/token/", "/api/books/", "/api/devices/"]
)
def test_deeply_nested_json_is_a_parse_error_not_a_crash(user, url):
    client = APIClient()
    client.force_authenticate(user)

    response = client.post(url, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the document is nested too deeply.",
        "code": "parse_error",
    }


def test_negative_zero_is_answered_as_stored(client):
    response = client.post(
        "/api/books/",
        {"title": "T", "author": "A", "latitude": "-0", "longitude": "-0.0"},
        format="json",
    )

    assert response.status_code == 201
    place = response.json()["place"]
    assert str(place["latitude"]) == "0.0"
    assert str(place["longitude"]) == "0.0"
