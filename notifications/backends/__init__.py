"""Push providers behind one interface, chosen by settings.NOTIFICATIONS["BACKEND"]."""

import threading

from django.utils.module_loading import import_string

from notifications.backends.base import (
    LoggingBackend,
    Outcome,
    ProviderBackend,
    PushBackend,
    PushMessage,
    PushResult,
)
from notifications.conf import get_settings

__all__ = [
    "LoggingBackend",
    "Outcome",
    "ProviderBackend",
    "PushBackend",
    "PushMessage",
    "PushResult",
    "forget_backends",
    "get_backend",
]

_backends: dict[str, PushBackend] = {}
_lock = threading.Lock()


def get_backend() -> PushBackend:
    """Return the configured backend, built once per process.

    A backend keeps its connections and its provider's access token between
    batches, so it is worth keeping.
    """
    path = get_settings().backend
    with _lock:
        if path not in _backends:
            _backends[path] = import_string(path)()
        return _backends[path]


def forget_backends(*, setting: str = "NOTIFICATIONS", **kwargs) -> None:
    """Drop the built backends when their settings change (tests do)."""
    if setting == "NOTIFICATIONS":
        with _lock:
            _backends.clear()
