"""The share request costs the same number of queries whatever the data size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from places.models import Place
from tests.factories import jpeg_file, make_listener

pytestmark = pytest.mark.django_db


def count_share_queries(client, latitude: float) -> int:
    form = {
        "title": "Dune",
        "author": "Frank Herbert",
        "latitude": str(latitude),
        "longitude": "13.4",
        "pictures": [jpeg_file("a.jpg"), jpeg_file("b.jpg")],
    }
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/books/", form, format="multipart")
    assert response.status_code == 201
    return len(queries)


def test_share_queries_do_not_grow_with_places_or_users(client):
    small = count_share_queries(client, 52.0)

    Place.objects.bulk_create(
        Place(latitude=52 + n / 1000, longitude=13.4 + n / 1000) for n in range(1, 500)
    )
    for n in range(30):
        make_listener(52.1 + n / 1000, 13.4, username=f"reader{n}")
    large = count_share_queries(client, 52.2)

    assert small == large
    # Place lookup and insert (in a savepoint), book, pictures, two events with
    # their deliveries, the pictures for the answer; the outer savepoint.
    assert small == 13
