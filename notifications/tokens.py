"""What a push token or a Web Push subscription must look like, per platform.

Each check raises ValidationError with a message that says what to fix.
"""

import base64
import binascii
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError

from notifications.conf import NotificationSettings

# ASCII only, so the unique index on tokens stays within PostgreSQL's limit
# for one B-tree entry (2704 bytes). FCM and Expo tokens and Web Push
# endpoints are far shorter.
MAX_TOKEN_LENGTH = 2048

FCM_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]+\Z")
# As Expo's own SDKs tell a push token: ExponentPushToken[...] or a UUID.
EXPO_TOKEN = re.compile(
    r"(ExponentPushToken|ExpoPushToken)\[[^\]\s]+\]\Z"
    r"|[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}\Z",
    re.IGNORECASE,
)
BASE64URL = re.compile(r"[A-Za-z0-9_\-]+={0,2}\Z")


def check_fcm_token(token: str) -> None:
    if not FCM_TOKEN.match(token):
        raise ValidationError(
            "An FCM registration token has only letters, digits and _ : . -",
            code="invalid_token",
        )


def check_expo_token(token: str) -> None:
    if not EXPO_TOKEN.match(token):
        raise ValidationError(
            "An Expo push token looks like ExponentPushToken[...].",
            code="invalid_token",
        )


def check_endpoint(url: str, conf: NotificationSettings) -> None:
    """Accept only the URL of a push service we are configured to send to."""
    schemes = {"https"} if conf.webpush_require_https else {"https", "http"}
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        host = ""
    if not host or parts.scheme not in schemes or parts.username is not None:
        raise ValidationError(
            "Enter the https URL that the browser's push service gave.",
            code="invalid_endpoint",
        )
    if not any(
        host == known or host.endswith(f".{known}") for known in conf.webpush_hosts
    ):
        raise ValidationError(
            f"{host} is not a push service this server sends to.",
            code="unknown_push_service",
        )


def check_p256dh(value: str) -> None:
    """The browser's public key: an uncompressed point on P-256, base64url."""
    raw = decode_base64url(value)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raw = b""
    if len(raw) != 65:
        raise ValidationError(
            "Enter the subscription's p256dh key: a P-256 public key, base64url.",
            code="invalid_key",
        )


def check_auth_secret(value: str) -> None:
    if len(decode_base64url(value)) != 16:
        raise ValidationError(
            "Enter the subscription's auth secret: 16 bytes, base64url.",
            code="invalid_key",
        )


def decode_base64url(value: str) -> bytes:
    if not BASE64URL.match(value):
        return b""
    stripped = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return b""
