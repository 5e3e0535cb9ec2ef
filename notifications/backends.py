"""Push providers behind one interface, chosen by settings.NOTIFICATIONS["BACKEND"]."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

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
    token: str
    title: str
    body: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    reason: str = ""
    retry_after_s: float | None = None


class PushBackend:
    """Sends a batch of messages; answers one result per message, in order."""

    max_batch = 500

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


def get_backend() -> PushBackend:
    return import_string(settings.NOTIFICATIONS["BACKEND"])()
