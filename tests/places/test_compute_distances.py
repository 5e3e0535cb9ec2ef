"""The backfill: ``manage.py compute_distances``."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from places import backfill
from places.models import Distance, Place
from places.services import get_or_create_place
from tests.conftest import run_relay_until_idle
from tests.factories import make_place
from tests.places.geodesy import (
    assert_same_pairs,
    expected_pairs,
    make_cloud,
    stored_pairs,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def radius_km(settings):
    """Set the configured radius; returns a setter for later changes."""

    def set_radius(km: int) -> int:
        settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": km}
        return km

    set_radius(20)
    return set_radius


def compute(*args: str) -> str:
    out = io.StringIO()
    call_command("compute_distances", *args, stdout=out, verbosity=0)
    return out.getvalue()


def pending_count() -> int:
    return Place.objects.filter(distances_radius_km__isnull=True).count()


def test_backfill_stores_exactly_the_pairs_geopy_finds(radius_km):
    make_cloud(seed=1)

    output = compute()

    expected = expected_pairs(radius_km=20)
    assert len(expected) > 500
    assert_same_pairs(stored_pairs(), expected)
    assert set(Place.objects.values_list("distances_radius_km", flat=True)) == {20}
    assert output.strip() == (
        "Radius 20 km: 0 distances beyond it removed; "
        f"120 places computed, {len(expected) // 2} new pairs stored (both ways)."
    )


def test_running_it_again_changes_nothing(radius_km):
    make_cloud(seed=2)
    compute()
    rows = sorted(
        Distance.objects.values_list("pk", "from_place", "to_place", "meters")
    )

    output = compute()

    after = sorted(
        Distance.objects.values_list("pk", "from_place", "to_place", "meters")
    )
    assert after == rows
    assert "0 places computed, 0 new pairs stored" in output


def test_an_interrupted_run_resumes_where_it_stopped(radius_km, monkeypatch):
    make_cloud(seed=4)
    real_save = backfill.save_pairs
    calls = []

    def save_then_stop(pairs):
        calls.append(len(pairs))
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_save(pairs)

    monkeypatch.setattr(backfill, "save_pairs", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        compute("--chunk-places", "25")

    # Two chunks committed; the third rolled back whole.
    assert pending_count() == 120 - 2 * 25
    assert len(stored_pairs()) == 2 * sum(calls[:2])

    monkeypatch.setattr(backfill, "save_pairs", real_save)
    output = compute("--chunk-places", "25")

    assert "70 places computed" in output
    assert_same_pairs(stored_pairs(), expected_pairs(radius_km=20))
    assert pending_count() == 0


def test_pairs_held_in_memory_are_bounded_by_the_chunk(radius_km, monkeypatch):
    make_cloud(seed=5)
    real_save = backfill.save_pairs
    sizes = []

    def recording_save(pairs):
        sizes.append(len(pairs))
        real_save(pairs)

    monkeypatch.setattr(backfill, "save_pairs", recording_save)

    compute("--chunk-pairs", "40")

    most_from_one_place = 20 - 1 + 20  # its own spot's places, and then some
    assert max(sizes) < 40 + most_from_one_place
    assert len(sizes) > 5
    assert_same_pairs(stored_pairs(), expected_pairs(radius_km=20))


def test_places_done_by_the_handler_and_bulk_loaded_ones_meet(radius_km):
    """New places (done by the handler) and a later bulk load (pending) pair up."""
    with transaction.atomic():
        shared = [get_or_create_place(0.01 * n, 0.01 * n) for n in range(5)]
    run_relay_until_idle()
    make_cloud(seed=6)
    assert pending_count() == 120

    compute()

    assert_same_pairs(stored_pairs(), expected_pairs(radius_km=20))
    assert Distance.objects.filter(from_place__in=shared).count() > 5 * 4


def test_a_smaller_radius_removes_the_longer_pairs(radius_km):
    make_cloud(seed=7)
    compute()
    radius_km(10)

    output = compute()

    expected = expected_pairs(radius_km=10)
    removed = len(expected_pairs(radius_km=20)) - len(expected)
    assert removed > 0
    assert_same_pairs(stored_pairs(), expected)
    assert set(Place.objects.values_list("distances_radius_km", flat=True)) == {10}
    assert output.strip() == (
        f"Radius 10 km: {removed} distances beyond it removed; "
        "0 places computed, 0 new pairs stored (both ways)."
    )


def test_an_interrupted_shrink_finishes_on_the_next_run(radius_km, monkeypatch):
    make_cloud(seed=11)
    compute()
    radius_km(10)
    real_ranges = backfill.iterate_id_ranges

    def first_range_then_stop(size):
        yield next(real_ranges(size))
        raise KeyboardInterrupt

    monkeypatch.setattr(backfill, "iterate_id_ranges", first_range_then_stop)
    with pytest.raises(KeyboardInterrupt):
        compute("--chunk-places", "30")

    # The first 30 places' longer pairs are gone; every place still says 20.
    partly = stored_pairs()
    assert len(expected_pairs(radius_km=10)) < len(partly)
    assert set(Place.objects.values_list("distances_radius_km", flat=True)) == {20}

    monkeypatch.setattr(backfill, "iterate_id_ranges", real_ranges)
    compute()

    assert_same_pairs(stored_pairs(), expected_pairs(radius_km=10))
    assert set(Place.objects.values_list("distances_radius_km", flat=True)) == {10}


def test_a_shrink_shows_its_own_progress_bar(radius_km, capsys):
    make_cloud(seed=12, per_spot=4)
    call_command("compute_distances", stdout=io.StringIO(), verbosity=0)
    radius_km(10)

    call_command("compute_distances", stdout=io.StringIO())

    err = capsys.readouterr().err
    assert "remove" in err
    assert "24/24" in err


def test_a_larger_radius_adds_the_missing_pairs(radius_km):
    make_cloud(seed=8)
    radius_km(10)
    compute()
    before = len(stored_pairs())
    radius_km(25)

    output = compute()

    expected = expected_pairs(radius_km=25)
    assert len(expected) > before
    assert_same_pairs(stored_pairs(), expected)
    assert "120 places computed" in output
    assert set(Place.objects.values_list("distances_radius_km", flat=True)) == {25}


def test_a_new_place_after_a_shrink_is_measured_at_the_new_radius(radius_km):
    """A handler run between the change and the backfill leaves nothing stale."""
    make_cloud(seed=9)
    compute()
    radius_km(10)
    with transaction.atomic():
        get_or_create_place(48.85, 2.351)
    run_relay_until_idle()

    compute()

    assert_same_pairs(stored_pairs(), expected_pairs(radius_km=10))


def test_a_place_at_a_pole_pairs_with_every_longitude(radius_km):
    north = [make_place(89.95, lon) for lon in (-180, -90, 0, 90, 179.99)]

    compute()

    pairs = stored_pairs()
    assert len(pairs) == 5 * 4
    # Opposite sides of the pole: 0.1 degree of meridian apart.
    assert pairs[north[0].pk, north[2].pk] == pytest.approx(11_169.4, abs=1)
    assert_same_pairs(pairs, expected_pairs(radius_km=20))


@pytest.mark.parametrize("option", ["--chunk-places", "--chunk-pairs"])
def test_chunks_must_hold_something(option):
    with pytest.raises(CommandError, match="at least 1"):
        compute(option, "0")


def test_the_progress_bar_counts_places(radius_km, capsys):
    make_cloud(seed=10, per_spot=3)

    call_command("compute_distances", stdout=io.StringIO())

    assert "18/18" in capsys.readouterr().err
