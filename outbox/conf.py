"""The outbox's settings, read once from ``settings.OUTBOX`` and checked at startup."""

import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class OutboxSettings:
    batch_size: int = 50
    max_attempts: int = 10
    lease_s: float = 300
    backoff_base_s: float = 2
    backoff_max_s: float = 600
    drain_budget_s: float = 60
    nudge_interval_s: float = 1.0
    retention_days: int = 7
    # Modules with subscribers beyond each app's handlers.py (plug-ins, tests).
    handler_modules: tuple[str, ...] = ()
    # Run every handler in the publishing request, right after its commit, as
    # the app's first version did. For comparison in benchmarks only, with no
    # cluster running: a relay could otherwise claim the events of a request
    # that is still busy with the first of them.
    inline: bool = False


def get_settings() -> OutboxSettings:
    overrides = {key.lower(): value for key, value in settings.OUTBOX.items()}
    return OutboxSettings(**overrides)


def check_settings(outbox: OutboxSettings, q_cluster: dict) -> None:
    """Refuse a configuration under which a delivery could run twice at once.

    django-q2 hands a task to another worker once it has run longer than
    ``retry``, and kills it after ``timeout``: ``retry`` must exceed
    ``timeout``, and a drain must end inside ``timeout``. A lease shorter than
    ``timeout`` could expire while its handler is still running.
    """
    timeout = q_cluster.get("timeout")
    retry = q_cluster.get("retry", 60)
    if timeout is None:
        raise ImproperlyConfigured("Q_CLUSTER['timeout'] must be set.")
    if retry <= timeout:
        raise ImproperlyConfigured(
            f"Q_CLUSTER['retry'] ({retry} s) must be greater than "
            f"Q_CLUSTER['timeout'] ({timeout} s), or django-q2 hands a running "
            "drain to a second worker. Set Q_RETRY above Q_TIMEOUT."
        )
    if not 0 < outbox.drain_budget_s < timeout:
        raise ImproperlyConfigured(
            f"OUTBOX drain budget ({outbox.drain_budget_s} s) must be positive "
            f"and below Q_CLUSTER['timeout'] ({timeout} s)."
        )
    if outbox.lease_s < timeout:
        raise ImproperlyConfigured(
            f"OUTBOX lease ({outbox.lease_s} s) must be at least "
            f"Q_CLUSTER['timeout'] ({timeout} s)."
        )
    base, most = outbox.backoff_base_s, outbox.backoff_max_s
    if not (math.isfinite(base) and math.isfinite(most) and 0 < base <= most):
        raise ImproperlyConfigured(
            "OUTBOX_BACKOFF_BASE_S must be a positive number no larger than "
            f"OUTBOX_BACKOFF_MAX_S (got {base!r} and {most!r})."
        )
    if outbox.max_attempts < 1 or outbox.batch_size < 1:
        raise ImproperlyConfigured("OUTBOX max attempts and batch size must be >= 1.")
