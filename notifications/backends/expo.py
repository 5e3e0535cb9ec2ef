"""Expo's push service: up to 100 messages a request, one ticket for each.

A ticket says that Expo accepted the message for APNs or FCM. Whether they
delivered it comes later, in receipts, which this backend does not read (see
"Known limitations" in the README).
"""

import logging

import requests

from notifications.backends.base import Outcome, PushBackend, PushMessage, PushResult
from notifications.backends.http import new_session, retry_later, transport_failure
from notifications.conf import NotificationSettings

logger = logging.getLogger(__name__)

TICKET_ERRORS = {
    "DeviceNotRegistered": Outcome.UNREGISTERED,
    "MessageTooBig": Outcome.REJECTED,
    "MessageRateExceeded": Outcome.RETRY,
    # Our FCM or APNs credentials as Expo holds them: retried until fixed.
    "MismatchSenderId": Outcome.RETRY,
    "InvalidCredentials": Outcome.RETRY,
}


class ExpoBackend(PushBackend):
    # Expo refuses a larger request (PUSH_TOO_MANY_NOTIFICATIONS).
    max_batch = 100

    def __init__(self, conf: NotificationSettings | None = None):
        super().__init__(conf)
        self.session = new_session(1)
        self.headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if self.conf.expo_access_token:
            self.headers["Authorization"] = f"Bearer {self.conf.expo_access_token}"

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        try:
            response = self.session.post(
                self.conf.expo_url,
                json=[to_expo(message) for message in messages],
                headers=self.headers,
                timeout=self.conf.timeout_s,
            )
        except requests.RequestException as error:
            return [transport_failure(error)] * len(messages)

        if response.status_code == 200:
            return read_tickets(response, len(messages))
        if response.status_code in (400, 413) and len(messages) > 1:
            # One bad message fails the whole request: send each alone, so
            # that only the bad one fails.
            return [self.send([message])[0] for message in messages]
        return [judge_request(response)] * len(messages)


def to_expo(message: PushMessage) -> dict:
    return {
        "to": message.token,
        "title": message.title,
        "body": message.body,
        "data": dict(message.data),
    }


def read_tickets(response: requests.Response, count: int) -> list[PushResult]:
    try:
        tickets = response.json()["data"]
    except (ValueError, LookupError, TypeError):
        tickets = None
    if not is_ticket_list(tickets, count):
        # Nothing tells which went; sending again may repeat some.
        logger.error(
            "Expo answered without one ticket per message: %.300s", response.text
        )
        reason = "Expo answered without one ticket per message."
        return [PushResult(Outcome.RETRY, reason)] * count
    return [judge_ticket(ticket) for ticket in tickets]


def is_ticket_list(tickets, count: int) -> bool:
    if not isinstance(tickets, list) or len(tickets) != count:
        return False
    return all(isinstance(ticket, dict) for ticket in tickets)


def judge_ticket(ticket: dict) -> PushResult:
    if ticket.get("status") == "ok":
        return PushResult(Outcome.SENT)
    error = (ticket.get("details") or {}).get("error", "")
    reason = f"{error or 'error'}: {ticket.get('message', '')}"[:500]
    return PushResult(TICKET_ERRORS.get(error, Outcome.REJECTED), reason)


def judge_request(response: requests.Response) -> PushResult:
    """What to do with every message of a request that Expo refused whole."""
    reason = f"HTTP {response.status_code}: {read_errors(response)}"[:500]
    if response.status_code == 429 or response.status_code >= 500:
        return retry_later(reason, response, unavailable=True)
    if response.status_code in (401, 403):
        logger.error("Expo refused our access token: %s", reason)
        return retry_later(reason, response, unavailable=True)
    return PushResult(Outcome.REJECTED, reason)


def read_errors(response: requests.Response) -> str:
    try:
        errors = response.json()["errors"]
        return "; ".join(f"{e['code']}: {e['message']}" for e in errors)
    except (ValueError, LookupError, TypeError):
        return response.text[:200]
