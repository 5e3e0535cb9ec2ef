"""The production environment of the README passes Django's deployment checks."""

import secrets

import pytest

from tests.conftest import run_manage

PRODUCTION_ENV = {
    "PRODUCTION": "1",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "books.example.org",
}

pytestmark = pytest.mark.django_db


def test_check_deploy_passes_with_the_production_environment(settings):
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50)}

    result = run_manage(
        settings, "check", "--deploy", "--fail-level", "WARNING", timeout=60, **env
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_on_the_laptop_settings(settings):
    result = run_manage(
        settings, "check", "--deploy", "--fail-level", "WARNING", timeout=60
    )

    assert result.returncode != 0
    for check in ("W004", "W008", "W012", "W016"):
        assert f"security.{check}" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRODUCTION": "1"}, "PRODUCTION=1 needs SECRET_KEY from the environment"),
        (
            {"PRODUCTION": "1", "SECRET_KEY": "x" * 50, "DEBUG": "1"},
            "DEBUG must be off when PRODUCTION=1",
        ),
        ({"THROTTLE_SHARE": "lots"}, 'THROTTLE_SHARE must be a rate such as "30/min"'),
        ({"THROTTLE_TOKEN": "5/fortnight"}, "THROTTLE_TOKEN must be a rate"),
    ],
)
def test_unsafe_or_malformed_settings_stop_startup(settings, env, message):
    result = run_manage(settings, "check", timeout=60, **{"SECRET_KEY": "", **env})

    assert result.returncode != 0
    assert message in result.stderr
