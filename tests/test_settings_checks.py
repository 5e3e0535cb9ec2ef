import pytest

from tests.conftest import run_manage


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOOKS_MAX_PICTURES": "0"}, "BOOKS_MAX_PICTURES must be at least 1"),
        ({"BOOKS_MIN_PICTURES": "9"}, "BOOKS_MIN_PICTURES must be between 0 and"),
        ({"BOOKS_MAX_PICTURE_MB": "0"}, "BOOKS_MAX_PICTURE_MB must be at least 1"),
        ({"PLACES_DISTANCE_RADIUS_KM": "-5"}, "must be a positive number"),
        ({"OUTBOX_NUDGE_INTERVAL_S": "abc"}, "must be a number, not 'abc'"),
        ({"Q_WORKERS": "two"}, "Q_WORKERS must be an integer"),
    ],
)
@pytest.mark.django_db
def test_bad_settings_are_refused_at_startup_with_a_message(settings, env, message):
    result = run_manage(settings, "check", timeout=60, **env)

    assert result.returncode != 0
    assert message in result.stderr
