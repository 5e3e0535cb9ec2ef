"""Notification settings are checked at startup, with messages that say what to fix."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.checks import check_backend
from notifications.conf import NotificationSettings, check_settings, get_settings

Q_CLUSTER = {"timeout": 120, "retry": 240}


def test_the_defaults_pass():
    check_settings(NotificationSettings(), Q_CLUSTER)


@pytest.mark.parametrize(
    "name", ["batch_size", "timeout_s", "concurrency", "send_budget_s", "retry_base_s"]
)
def test_numbers_must_be_positive(name):
    with pytest.raises(ImproperlyConfigured, match=name):
        check_settings(NotificationSettings(**{name: 0}), Q_CLUSTER)


def test_a_send_round_must_end_before_django_q2_kills_it():
    conf = NotificationSettings(send_budget_s=55, timeout_s=10)

    with pytest.raises(ImproperlyConfigured, match="Q_TIMEOUT"):
        check_settings(conf, Q_CLUSTER)


def test_unknown_settings_are_refused(configure):
    configure(batchsize=10)

    with pytest.raises(ImproperlyConfigured, match="batchsize"):
        get_settings()


def test_the_logging_backend_needs_nothing():
    assert check_backend() == []


def test_an_unknown_backend_is_an_error(configure):
    configure(backend="notifications.backends.NoSuchBackend")

    (error,) = check_backend()

    assert error.id == "notifications.E001"


def test_missing_fcm_credentials_are_an_error(configure, tmp_path):
    configure(
        backend="notifications.backends.ProviderBackend",
        fcm_credentials=str(tmp_path / "missing.json"),
    )

    (error,) = check_backend()

    assert error.id == "notifications.E002"
    assert "missing.json" in error.msg


def test_providers_left_unconfigured_are_warned_about(configure):
    configure(backend="notifications.backends.ProviderBackend")

    warnings = check_backend()

    assert [w.id for w in warnings] == ["notifications.W001"] * 2
    assert ["'fcm'" in warnings[0].msg, "'webpush'" in warnings[1].msg] == [True, True]
