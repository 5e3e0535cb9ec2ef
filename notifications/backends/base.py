"""The interface every push backend implements, and the ones that need no provider."""

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import models
from django.utils.module_loading import import_string

from notifications.conf import NotificationSettings, get_settings

logger = logging.getLogger(__name__)


class Outcome(models.TextChoices):
    SENT = "sent"
    # The provider says the token will never work again: deactivate the device.
    UNREGISTERED = "unregistered"
    # The provider refuses this message (too large, invalid): keep the device.
    REJECTED = "rejected"
    # Overloaded, down or timed out: try this one again later.
    RETRY = "retry"


@dataclass(frozen=True)
class PushMessage:
    notification_id: int
    platform: str
    # The provider's address of the device; for Web Push the endpoint URL.
    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    # Web Push only: the subscription's "p256dh" and "auth" keys.
    keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    reason: str = ""
    # Seconds the provider asked us to wait (Retry-After); None leaves the
    # delay to our own backoff.
    retry_after_s: float | None = None
    # The whole service is down or throttling us, not just this message:
    # other messages to it wait for the same delay instead of being tried.
    unavailable: bool = False


class PushBackend:
    """Sends a batch of messages; answers one result per message, in order.

    ``send`` is never given more than ``max_batch`` messages, and reports a
    provider's failure as results rather than raising.
    """

    max_batch = 500

    def __init__(self, conf: NotificationSettings | None = None):
        self.conf = conf or get_settings()

    @classmethod
    def is_configured(cls, conf: NotificationSettings) -> bool:
        """Whether the settings hold what this backend needs to send."""
        return True

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        raise NotImplementedError


class LoggingBackend(PushBackend):
    """Logs each push instead of sending it: the default for development."""

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        for message in messages:
            logger.info(
                "push to %s device: %s",
                message.platform,
                message.title,
                extra={
                    "notification_id": message.notification_id,
                    "platform": message.platform,
                },
            )
        return [PushResult(Outcome.SENT) for _ in messages]


# The provider of each platform, for ProviderBackend.
PROVIDERS = {
    "fcm": "notifications.backends.fcm.FcmBackend",
    "expo": "notifications.backends.expo.ExpoBackend",
    "webpush": "notifications.backends.webpush.WebPushBackend",
}


class ProviderBackend(PushBackend):
    """Sends each message through its platform's provider, within its limits.

    Platforms whose provider is not configured (FCM without credentials, Web
    Push without a VAPID key) have their messages rejected, with the reason.
    """

    def __init__(self, conf: NotificationSettings | None = None):
        super().__init__(conf)
        self.providers: dict[str, PushBackend] = {}
        for platform, path in PROVIDERS.items():
            backend_class = import_string(path)
            if backend_class.is_configured(self.conf):
                self.providers[platform] = backend_class(self.conf)

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        results: list[PushResult | None] = [None] * len(messages)
        for platform, positions in group_by_platform(messages).items():
            for chunk in self.split(platform, positions):
                answers = self.send_to(platform, [messages[p] for p in chunk])
                for position, answer in zip(chunk, answers, strict=True):
                    results[position] = answer
        return results

    def split(self, platform: str, positions: list[int]) -> list[list[int]]:
        provider = self.providers.get(platform)
        size = provider.max_batch if provider else len(positions)
        return [positions[i : i + size] for i in range(0, len(positions), size)]

    def send_to(self, platform: str, messages: list[PushMessage]) -> list[PushResult]:
        provider = self.providers.get(platform)
        if provider is None:
            reason = f"No push provider is configured for {platform!r} devices."
            return [PushResult(Outcome.REJECTED, reason) for _ in messages]
        return provider.send(messages)


def group_by_platform(messages: list[PushMessage]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for position, message in enumerate(messages):
        positions[message.platform].append(position)
    return positions
