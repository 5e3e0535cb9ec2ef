"""Web Push (RFC 8030) with VAPID (RFC 8292), through pywebpush.

pywebpush encrypts each payload for its subscription (RFC 8291, aes128gcm)
and signs the VAPID token. A push service takes one message a request, so a
batch goes out as concurrent requests; each push service (origin) is judged
on its own when it is down.
"""

import json
import logging
import os

import requests
from django.core.exceptions import ImproperlyConfigured, ValidationError
from py_vapid import Vapid, Vapid01, VapidException
from pywebpush import WebPushException, webpush

from notifications.backends.base import Outcome, PushBackend, PushMessage, PushResult
from notifications.backends.http import (
    describe,
    new_session,
    origin_of,
    retry_later,
    send_each,
    transport_failure,
)
from notifications.conf import NotificationSettings
from notifications.tokens import check_endpoint

logger = logging.getLogger(__name__)


class WebPushBackend(PushBackend):
    max_batch = 500

    @classmethod
    def is_configured(cls, conf: NotificationSettings) -> bool:
        return bool(conf.webpush_vapid_private_key)

    def __init__(self, conf: NotificationSettings | None = None):
        super().__init__(conf)
        self.vapid = load_vapid_key(self.conf.webpush_vapid_private_key)
        self.subject = self.conf.webpush_vapid_subject
        if not self.subject.startswith(("mailto:", "https:")):
            raise ImproperlyConfigured(
                "NOTIFICATIONS_WEBPUSH_VAPID_SUBJECT must be a mailto: or https: "
                "address where push services can reach us."
            )
        self.session = new_session(self.conf.concurrency)

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        return send_each(
            messages, self.send_one, self.conf, service_of=lambda m: origin_of(m.token)
        )

    def send_one(self, message: PushMessage) -> PushResult:
        try:
            check_endpoint(message.token, self.conf)
        except ValidationError as error:
            return PushResult(Outcome.REJECTED, error.messages[0])
        try:
            webpush(
                subscription_info={
                    "endpoint": message.token,
                    "keys": dict(message.keys),
                },
                data=to_payload(message),
                vapid_private_key=self.vapid,
                # A new dict each time: webpush() writes this endpoint's
                # audience and an expiry into it.
                vapid_claims={"sub": self.subject},
                ttl=self.conf.webpush_ttl_s,
                timeout=self.conf.timeout_s,
                requests_session=self.session,
            )
        except WebPushException as error:
            if error.response is None:
                return PushResult(Outcome.REJECTED, f"Unusable subscription: {error}")
            return judge(error.response)
        except requests.RequestException as error:
            return transport_failure(error)
        except (ValueError, TypeError) as error:
            # Keys that do not decode or encrypt.
            return PushResult(Outcome.REJECTED, f"Unusable subscription: {error}")
        return PushResult(Outcome.SENT)


def load_vapid_key(value: str) -> Vapid01:
    """Read the VAPID private key from a PEM or DER file, or base64url text."""
    try:
        if os.path.isfile(value):
            return Vapid.from_file(value)
        return Vapid.from_string(value)
    except (VapidException, ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "NOTIFICATIONS_WEBPUSH_VAPID_PRIVATE_KEY is neither a key file nor a "
            f"base64url P-256 private key: {error}"
        ) from error


def to_payload(message: PushMessage) -> str:
    content = {"title": message.title, "body": message.body, "data": message.data}
    return json.dumps(content, ensure_ascii=False)


def judge(response: requests.Response) -> PushResult:
    """Map a push service's refusal to what we do about it (RFC 8030)."""
    status = response.status_code
    reason = describe(response)[:500]
    if status in (404, 410):
        return PushResult(Outcome.UNREGISTERED, reason)
    if status == 429 or status >= 500:
        return retry_later(reason, response, unavailable=True)
    # 413 payload too large, 400 malformed, 401/403 a VAPID key that is not
    # the one this subscription was made with: this message will not go.
    return PushResult(Outcome.REJECTED, reason)
