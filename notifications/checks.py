"""A startup check that the push backend can be built from the settings."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from notifications.backends.base import PROVIDERS, ProviderBackend
from notifications.conf import get_settings

HINTS = {
    "fcm": "Set NOTIFICATIONS_FCM_CREDENTIALS to a service-account JSON file.",
    "webpush": "Set NOTIFICATIONS_WEBPUSH_VAPID_PRIVATE_KEY and _SUBJECT.",
}


def check_backend(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Build the backend once, so missing credentials show at startup, not later."""
    conf = get_settings()
    try:
        backend = import_string(conf.backend)(conf)
    except ImportError as error:
        message = f"NOTIFICATIONS_BACKEND {conf.backend!r} cannot be imported."
        return [checks.Error(message, hint=str(error), id="notifications.E001")]
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="notifications.E002")]

    if not isinstance(backend, ProviderBackend):
        return []
    return [
        checks.Warning(
            f"No push provider is configured for {platform!r} devices; their "
            "notifications will be failed.",
            hint=HINTS.get(platform),
            id="notifications.W001",
        )
        for platform in PROVIDERS
        if platform not in backend.providers
    ]
