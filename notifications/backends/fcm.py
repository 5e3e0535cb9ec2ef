"""Firebase Cloud Messaging through its HTTP v1 API.

HTTP v1 takes one message a request (the legacy batch endpoint is gone), so a
batch of up to 500 goes out as concurrent requests over kept-alive
connections. The OAuth access token comes from a service account through
google-auth and is reused until it nears its expiry.
"""

import logging
import threading
from functools import partial

import google.auth.transport.requests
import requests
from django.core.exceptions import ImproperlyConfigured
from google.auth.exceptions import GoogleAuthError
from google.oauth2 import service_account

from notifications.backends.base import Outcome, PushBackend, PushMessage, PushResult
from notifications.backends.http import (
    new_session,
    retry_later,
    send_each,
    transport_failure,
)
from notifications.conf import NotificationSettings

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"

# The token will never work for this project again.
DEAD_TOKEN_CODES = {"UNREGISTERED", "SENDER_ID_MISMATCH"}
# FCM itself is down or overloaded.
OUTAGE_CODES = {"UNAVAILABLE", "INTERNAL"}


class TimedRequest(google.auth.transport.requests.Request):
    """google-auth's transport with our timeout rather than its two minutes."""

    def __init__(self, session: requests.Session, timeout_s: float):
        super().__init__(session)
        self.timeout_s = timeout_s

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kw):
        timeout = timeout or self.timeout_s
        return super().__call__(url, method, body, headers, timeout, **kw)


class FcmBackend(PushBackend):
    max_batch = 500

    @classmethod
    def is_configured(cls, conf: NotificationSettings) -> bool:
        return bool(conf.fcm_credentials)

    def __init__(self, conf: NotificationSettings | None = None):
        super().__init__(conf)
        self.credentials = load_credentials(self.conf.fcm_credentials)
        project = self.conf.fcm_project_id or self.credentials.project_id
        if not project:
            raise ImproperlyConfigured(
                "Set NOTIFICATIONS_FCM_PROJECT_ID: the service account names none."
            )
        base = self.conf.fcm_url.rstrip("/")
        self.url = f"{base}/v1/projects/{project}/messages:send"
        self.session = new_session(self.conf.concurrency)
        self.auth_request = TimedRequest(new_session(1), self.conf.timeout_s)
        self.token_lock = threading.Lock()

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        try:
            token = self.get_access_token()
        except (GoogleAuthError, requests.RequestException) as error:
            logger.warning("no FCM access token: %s", error)
            reason = f"No FCM access token: {error}"[:500]
            return [PushResult(Outcome.RETRY, reason, unavailable=True)] * len(messages)
        return send_each(messages, partial(self.send_one, token=token), self.conf)

    def get_access_token(self) -> str:
        # Refreshed here rather than through before_request(), which would
        # also start google-auth's background lookups of other Google APIs.
        with self.token_lock:
            if not self.credentials.valid:
                self.credentials.refresh(self.auth_request)
            return self.credentials.token

    def forget_access_token(self, token: str) -> None:
        with self.token_lock:
            if self.credentials.token == token:
                self.credentials.token = None

    def send_one(self, message: PushMessage, token: str) -> PushResult:
        try:
            response = self.session.post(
                self.url,
                json=to_fcm(message),
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.conf.timeout_s,
            )
        except requests.RequestException as error:
            return transport_failure(error)
        if response.status_code == 200:
            return PushResult(Outcome.SENT)
        if response.status_code == 401:
            self.forget_access_token(token)
        return judge(response)


def load_credentials(path: str) -> service_account.Credentials:
    try:
        return service_account.Credentials.from_service_account_file(
            path, scopes=[SCOPE]
        )
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(
            f"NOTIFICATIONS_FCM_CREDENTIALS ({path}) is not a readable "
            f"service-account JSON file: {error}"
        ) from error


def to_fcm(message: PushMessage) -> dict:
    return {
        "message": {
            "token": message.token,
            "notification": {"title": message.title, "body": message.body},
            "data": dict(message.data),
        }
    }


def judge(response: requests.Response) -> PushResult:
    """Map an FCM error answer to what we do about it (FCM's ErrorCode table)."""
    code, message, fields = read_error(response)
    status = response.status_code
    reason = f"{code or status}: {message}"[:500]

    if code in DEAD_TOKEN_CODES or status == 404:
        return PushResult(Outcome.UNREGISTERED, reason)
    if code == "INVALID_ARGUMENT" or status == 400:
        # Also said of a payload too large; only a complaint about the token
        # field itself condemns the device.
        if "message.token" in fields:
            return PushResult(Outcome.UNREGISTERED, reason)
        return PushResult(Outcome.REJECTED, reason)
    if code == "QUOTA_EXCEEDED" or status == 429:
        # Often one device's rate: the others in the batch may still go.
        return retry_later(reason, response, unavailable=False)
    if code in OUTAGE_CODES or status >= 500:
        return retry_later(reason, response, unavailable=True)
    if code == "THIRD_PARTY_AUTH_ERROR":
        # Our APNs or Web Push credentials at FCM: only some platforms.
        return retry_later(reason, response, unavailable=False)
    if status in (401, 403):
        # Our own credentials or permissions: nothing will go until fixed.
        logger.error("FCM refused our credentials: %s", reason)
        return retry_later(reason, response, unavailable=True)
    return PushResult(Outcome.REJECTED, reason)


def read_error(response: requests.Response) -> tuple[str, str, list[str]]:
    """Return FCM's error code (else the status), its message and the bad fields."""
    try:
        error = response.json()["error"]
        code = error.get("status", "")
        fields = []
        for detail in error.get("details") or []:
            if detail.get("@type") == FCM_ERROR:
                code = detail.get("errorCode") or code
            elif detail.get("@type") == BAD_REQUEST:
                fields += [v.get("field", "") for v in detail["fieldViolations"]]
        return code, error.get("message", ""), fields
    except (ValueError, LookupError, TypeError, AttributeError):
        # Not the documented shape (a proxy's page, say): go by HTTP status.
        return "", response.text[:200], []
