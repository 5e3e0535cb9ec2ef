"""Notification settings, read from settings.NOTIFICATIONS and checked at startup."""

from dataclasses import dataclass, fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The push services of the major browsers. A Web Push endpoint is a URL the
# browser hands us; sending to any other host would let a client make our
# worker call arbitrary addresses.
WEBPUSH_HOSTS = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)


@dataclass(frozen=True)
class NotificationSettings:
    backend: str = "notifications.backends.LoggingBackend"
    # Notifications claimed and handed to the backend at once (capped by the
    # backend's own limit).
    batch_size: int = 500
    default_radius_km: float = 10
    # One provider request, connect and read.
    timeout_s: float = 10
    # Requests in flight at once for providers that take one message a request.
    concurrency: int = 16
    # A send round stops starting batches after this, and a batch stops
    # starting requests after this; the rest goes on in the next round, so
    # one book never holds a worker for long.
    send_budget_s: float = 20
    retry_base_s: float = 30
    retry_max_s: float = 1800
    # A notification still unsent this long after it was stored is failed.
    give_up_after_h: float = 24
    fcm_credentials: str = ""
    fcm_project_id: str = ""
    fcm_url: str = "https://fcm.googleapis.com"
    expo_url: str = "https://exp.host/--/api/v2/push/send"
    expo_access_token: str = ""
    webpush_vapid_private_key: str = ""
    webpush_vapid_subject: str = ""
    webpush_ttl_s: int = 86400
    webpush_hosts: tuple[str, ...] = WEBPUSH_HOSTS
    webpush_require_https: bool = True

    @property
    def lease_s(self) -> float:
        """How long a claimed batch stays ours: a batch ends within budget + timeout."""
        return self.send_budget_s + self.timeout_s + 30

    @property
    def longest_round_s(self) -> float:
        """A round starts its last batch within the budget; that batch ends
        within the budget and one request's timeout."""
        return 2 * self.send_budget_s + self.timeout_s


def get_settings() -> NotificationSettings:
    values = {key.lower(): value for key, value in settings.NOTIFICATIONS.items()}
    known = {f.name for f in fields(NotificationSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ImproperlyConfigured(f"Unknown NOTIFICATIONS settings: {unknown}.")
    if "webpush_hosts" in values:
        values["webpush_hosts"] = tuple(values["webpush_hosts"])
    # Unset, the budget and the timeout scale down with django-q2's timeout,
    # so that a send round always ends well inside it.
    q_timeout = settings.Q_CLUSTER.get("timeout") or 120
    for name, ceiling in (("send_budget_s", 20), ("timeout_s", 10)):
        if values.get(name) is None:
            values[name] = min(ceiling, q_timeout / 6)
    return NotificationSettings(**values)


def check_settings(conf: NotificationSettings, q_cluster: dict) -> None:
    """Refuse numbers under which a send round could outlive its worker."""
    positive = ["batch_size", "timeout_s", "concurrency", "send_budget_s"]
    positive += ["retry_base_s", "retry_max_s", "give_up_after_h"]
    for name in positive:
        if not getattr(conf, name) > 0:
            raise ImproperlyConfigured(f"NOTIFICATIONS {name} must be positive.")
    if conf.retry_max_s < conf.retry_base_s:
        raise ImproperlyConfigured(
            "NOTIFICATIONS retry_max_s must be at least retry_base_s."
        )
    timeout = q_cluster.get("timeout")
    if timeout is not None and conf.longest_round_s >= timeout:
        raise ImproperlyConfigured(
            f"A send round can take {conf.longest_round_s:g} s (twice "
            "NOTIFICATIONS_SEND_BUDGET_S plus NOTIFICATIONS_TIMEOUT_S), which "
            f"django-q2 would cut at Q_TIMEOUT ({timeout} s). Lower them or raise "
            "Q_TIMEOUT."
        )
