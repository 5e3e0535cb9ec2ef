"""Claiming stored notifications, sending a batch, and recording what came of it.

A batch is leased (status "sending" until ``leased_until``) and committed
before anything is sent. Results are recorded only on rows that still carry
that lease, so a worker that outlived its lease cannot undo the work of the
one that took over.
"""

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from notifications.backends import Outcome, PushBackend, PushMessage, PushResult
from notifications.conf import NotificationSettings
from notifications.models import Device, Notification

logger = logging.getLogger(__name__)

Status = Notification.Status


@dataclass(frozen=True)
class Claimed:
    """A claimed notification, with what sending it needs of its device.

    Plain values rather than model instances: a batch of 500 is built several
    times faster, and the send path needs nothing else.
    """

    id: int
    book_id: int
    title: str
    body: str
    attempts: int
    created_at: datetime
    device_id: int | None
    platform: str | None
    token: str | None
    keys: dict | None
    active: bool | None
    deactivated_reason: str | None

    @property
    def service(self) -> tuple[str, str]:
        """The platform, and for Web Push the push service's origin."""
        if self.platform != Device.Platform.WEBPUSH:
            return self.platform, ""
        parts = urlsplit(self.token)
        return self.platform, f"{parts.scheme}://{parts.netloc}"


CLAIMED_FIELDS = [
    "id",
    "book_id",
    "title",
    "body",
    "attempts",
    "created_at",
    "device_id",
    "device__platform",
    "device__token",
    "device__keys",
    "device__active",
    "device__deactivated_reason",
]


def claim_notifications(
    book_id: int, limit: int, lease_s: float
) -> tuple[datetime, list[Claimed]]:
    """Lease up to ``limit`` due notifications of a book; return the lease and them."""
    now = timezone.now()
    lease = now + timedelta(seconds=lease_s)
    due = Q(status=Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Status.SENDING, leased_until__lt=now)
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(due | abandoned, book_id=book_id)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(id__in=ids).update(
            status=Status.SENDING, leased_until=lease
        )
    rows = Notification.objects.filter(id__in=ids, leased_until=lease).order_by("id")
    return lease, [Claimed(*row) for row in rows.values_list(*CLAIMED_FIELDS)]


def send_batch(
    batch: list[Claimed],
    lease: datetime,
    backend: PushBackend,
    conf: NotificationSettings,
) -> int:
    """Send a claimed batch and record the results; return how many went."""
    sendable = [n for n in batch if n.active]
    withdraw_undeliverable([n for n in batch if not n.active], lease)
    if not sendable:
        return 0

    results = backend.send([to_message(n) for n in sendable])
    changes = plan_changes(sendable, results, conf)
    record_changes(changes, lease)
    postpone_services(sendable, results, changes.now, conf)
    log_changes(changes, sendable[0].book_id)
    return len(changes.sent)


def to_message(notification: Claimed) -> PushMessage:
    return PushMessage(
        notification_id=notification.id,
        platform=notification.platform,
        token=notification.token,
        title=notification.title,
        body=notification.body,
        data={
            "book_id": str(notification.book_id),
            "notification_id": str(notification.id),
        },
        keys=notification.keys or {},
    )


def withdraw_undeliverable(batch: list[Claimed], lease: datetime) -> None:
    """Cancel claimed notifications whose device was removed or deactivated."""
    for notification in batch:
        if notification.device_id is None:
            reason = "The device was removed."
        else:
            reason = f"The device was deactivated: {notification.deactivated_reason}"
        Notification.objects.filter(
            pk=notification.id, status=Status.SENDING, leased_until=lease
        ).update(status=Status.CANCELLED, leased_until=None, last_error=reason[:500])


@dataclass
class Changes:
    """The updates a batch's results call for, grouped so each is one query."""

    now: datetime
    rows: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(list))
    dead_devices: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    sent: list[int] = field(default_factory=list)

    def add(self, notification: Claimed, outcome: Outcome, **values) -> None:
        self.rows[(outcome, *sorted(values.items()))].append(notification.id)


def plan_changes(
    batch: list[Claimed], results: list[PushResult], conf: NotificationSettings
) -> Changes:
    changes = Changes(now=timezone.now())
    # One jitter for the batch, so that equal attempts share one update.
    jitter = random.uniform(0.5, 1.0)
    for notification, result in zip(batch, results, strict=True):
        if result.outcome == Outcome.SENT:
            changes.sent.append(notification.id)
            changes.add(
                notification,
                result.outcome,
                status=Status.SENT,
                sent_at=changes.now,
                last_error="",
            )
        elif result.outcome == Outcome.RETRY:
            plan_retry(changes, notification, result, conf, jitter)
        else:
            changes.add(
                notification,
                result.outcome,
                status=Status.FAILED,
                last_error=result.reason,
            )
            if result.outcome == Outcome.UNREGISTERED:
                changes.dead_devices[result.reason[:200]].append(notification.device_id)
    return changes


def plan_retry(
    changes: Changes,
    notification: Claimed,
    result: PushResult,
    conf: NotificationSettings,
    jitter: float,
) -> None:
    delay = result.retry_after_s
    if delay is None:
        delay = backoff_s(notification.attempts + 1, conf) * jitter
    retry_at = changes.now + timedelta(seconds=delay)
    give_up_at = notification.created_at + timedelta(hours=conf.give_up_after_h)
    if retry_at > give_up_at:
        reason = f"Gave up after {conf.give_up_after_h:g} h: {result.reason}"
        changes.add(
            notification, result.outcome, status=Status.FAILED, last_error=reason[:500]
        )
        return
    changes.add(
        notification,
        result.outcome,
        status=Status.PENDING,
        next_attempt_at=retry_at,
        last_error=result.reason,
    )


def backoff_s(attempts: int, conf: NotificationSettings) -> float:
    return min(conf.retry_max_s, conf.retry_base_s * 2 ** (attempts - 1))


def record_changes(changes: Changes, lease: datetime) -> None:
    with transaction.atomic():
        for (_, *values), ids in changes.rows.items():
            Notification.objects.filter(
                pk__in=ids, status=Status.SENDING, leased_until=lease
            ).update(attempts=F("attempts") + 1, leased_until=None, **dict(values))
        for reason, device_ids in changes.dead_devices.items():
            Device.objects.filter(pk__in=device_ids, active=True).update(
                active=False, deactivated_reason=reason
            )


def postpone_services(
    batch: list[Claimed],
    results: list[PushResult],
    now: datetime,
    conf: NotificationSettings,
) -> None:
    """Hold back the book's other due notifications to a service that is down.

    They would only meet the same outage; the rest of the book's
    notifications, to other services, go on.
    """
    postponed = set()
    for notification, result in zip(batch, results, strict=True):
        service = notification.service
        if not result.unavailable or service in postponed:
            continue
        postponed.add(service)
        delay = result.retry_after_s
        if delay is None:
            delay = backoff_s(notification.attempts + 1, conf)
        until = now + timedelta(seconds=delay)
        Notification.objects.filter(
            service_filter(service),
            book_id=notification.book_id,
            status=Status.PENDING,
            next_attempt_at__lt=until,
        ).update(next_attempt_at=until)
        logger.warning(
            "%s is unavailable; its notifications of book %s wait %.0f s",
            service[1] or service[0],
            notification.book_id,
            delay,
            extra={"book_id": notification.book_id, "retry_in_s": delay},
        )


def service_filter(service: tuple[str, str]) -> Q:
    platform, origin = service
    devices = Q(device__platform=platform)
    if origin:
        devices &= Q(device__token__startswith=f"{origin}/")
    return devices


def next_wake_up(book_id: int) -> datetime | None:
    """When the book's unsent notifications next need a sender, if they do."""
    rows = Notification.objects.filter(book_id=book_id)
    due = rows.filter(status=Status.PENDING).aggregate(at=Min("next_attempt_at"))
    leased = rows.filter(status=Status.SENDING).aggregate(at=Min("leased_until"))
    times = [at for at in (due["at"], leased["at"]) if at is not None]
    return min(times, default=None)


def log_changes(changes: Changes, book_id: int) -> None:
    for (outcome, *values), ids in changes.rows.items():
        status = dict(values)["status"]
        logger.log(
            log_level(outcome, status),
            "book %s: %s notifications %s (%s) %s",
            book_id,
            len(ids),
            status,
            outcome,
            dict(values).get("last_error", ""),
            extra={"book_id": book_id, "outcome": str(outcome), "count": len(ids)},
        )
    for reason, device_ids in changes.dead_devices.items():
        logger.info(
            "%s devices deactivated: %s",
            len(device_ids),
            reason,
            extra={"device_ids": device_ids},
        )


def log_level(outcome: Outcome, status: str) -> int:
    """A token gone stale is routine; a message refused or given up is not."""
    if status == Status.PENDING:
        return logging.WARNING
    if status == Status.FAILED and outcome != Outcome.UNREGISTERED:
        return logging.ERROR
    return logging.INFO
