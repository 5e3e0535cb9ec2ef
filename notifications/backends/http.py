"""What the HTTP providers share: sessions, Retry-After, one request per message."""

import email.utils
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from notifications.backends.base import Outcome, PushMessage, PushResult
from notifications.conf import NotificationSettings

# A Retry-After further out than this is taken as this: the notification
# would be worthless by then anyway.
MAX_RETRY_AFTER_S = 24 * 3600


def new_session(pool_size: int) -> requests.Session:
    """A session that keeps up to ``pool_size`` connections alive per host."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header: delay-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def retry_later(
    reason: str, response: requests.Response | None = None, *, unavailable: bool
) -> PushResult:
    header = response.headers.get("Retry-After") if response is not None else None
    return PushResult(Outcome.RETRY, reason, parse_retry_after(header), unavailable)


def transport_failure(error: requests.RequestException) -> PushResult:
    """No answer (refused, reset, timed out): the service counts as down."""
    reason = f"{type(error).__name__}: {error}"[:500]
    return PushResult(Outcome.RETRY, reason, unavailable=True)


def describe(response: requests.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:300]}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def send_each(
    messages: list[PushMessage],
    send_one: Callable[[PushMessage], PushResult],
    conf: NotificationSettings,
    service_of: Callable[[PushMessage], str] = lambda message: "",
) -> list[PushResult]:
    """Send one request per message, ``conf.concurrency`` of them at a time.

    Once a service answers that it is unavailable, its messages that have not
    started yet are not tried: they wait as long as the ones that were. So a
    batch sent into an outage ends after one round of requests, not after one
    timeout per message. Messages not started within the send budget wait for
    the next round.
    """
    down: dict[str, PushResult] = {}
    deadline = time.monotonic() + conf.send_budget_s

    def attempt(message: PushMessage) -> PushResult:
        service = service_of(message)
        if service in down:
            cause = down[service]
            return PushResult(
                Outcome.RETRY, f"Not tried: {cause.reason}", cause.retry_after_s, True
            )
        if time.monotonic() >= deadline:
            return PushResult(Outcome.RETRY, "Not tried: the batch ran out of time.", 0)
        result = send_one(message)
        if result.unavailable:
            down.setdefault(service, result)
        return result

    workers = min(conf.concurrency, len(messages))
    if workers <= 1:
        return [attempt(message) for message in messages]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push") as pool:
        return list(pool.map(attempt, messages))
