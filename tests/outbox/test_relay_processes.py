"""Relays as separate processes: concurrency, crashes, poison, slow handlers.

Each handler writes a ledger row keyed by its event, so a second run of any
handler would fail on the primary key and show up as an extra attempt.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import Delivery, Event
from tests.conftest import (
    MANAGE_PY,
    get_test_database_url,
    is_postgres,
    subprocess_env,
)
from tests.outbox.handlers import ledger_rows

State = Delivery.State
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.django_db(transaction=True)

FAST_LEASES = {
    "Q_TIMEOUT": "2",
    "Q_RETRY": "4",
    "OUTBOX_LEASE_S": "2",
    "OUTBOX_DRAIN_BUDGET_S": "1",
    "OUTBOX_BACKOFF_BASE_S": "0.1",
    "OUTBOX_BACKOFF_MAX_S": "1",
    "LOG_LEVEL": "WARNING",
    "OUTBOX_HANDLER_MODULES": "tests.outbox.handlers",
    # A push round must fit in django-q2's timeout too.
    "NOTIFICATIONS_SEND_BUDGET_S": "0.5",
    "NOTIFICATIONS_TIMEOUT_S": "0.2",
}


def seed(count: int, topic: str, subscriber: str, payload=lambda n: {}) -> list[int]:
    """Publish ``count`` events in bulk, as a burst of shares would."""
    now = timezone.now()
    events = Event.objects.bulk_create(
        Event(topic=topic, payload=payload(n)) for n in range(count)
    )
    Delivery.objects.bulk_create(
        (Delivery(event=e, subscriber=subscriber, available_at=now) for e in events),
        batch_size=2000,
    )
    return [event.pk for event in events]


class Relays:
    """Relay processes that can be killed, and are restarted when they die."""

    def __init__(self, settings, count: int, **env: str):
        self.env = subprocess_env(settings, **FAST_LEASES, **env)
        self.processes = [self.start() for _ in range(count)]
        self.exits: list[int] = []

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                str(MANAGE_PY),
                "outbox",
                "drain",
                "--forever",
                "--poll",
                "0.05",
            ],
            cwd=PROJECT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart_dead(self) -> None:
        for index, process in enumerate(self.processes):
            if process.poll() is not None:
                self.exits.append(process.returncode)
                self.processes[index] = self.start()

    def kill_one(self) -> None:
        victim = random.choice(self.processes)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=10)


@pytest.fixture
def relays(settings):
    started: list[Relays] = []

    def start(count: int, **env: str) -> Relays:
        started.append(Relays(settings, count, **env))
        return started[-1]

    yield start
    for group in started:
        group.stop()


def unfinished() -> int:
    return Delivery.objects.filter(state__in=[State.PENDING, State.RUNNING]).count()


def wait_until_finished(group: Relays, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while unfinished():
        assert time.monotonic() < deadline, f"{unfinished()} deliveries unfinished"
        group.restart_dead()
        time.sleep(0.2)


def assert_each_ran_once(event_ids: list[int]) -> None:
    assert ledger_rows() == sorted(event_ids)
    assert Delivery.objects.filter(state=State.DONE).count() == len(event_ids)


needs_postgres = pytest.mark.skipif(
    not is_postgres(), reason="row locks and SKIP LOCKED are PostgreSQL's"
)


@needs_postgres
def test_c8_three_relays_drain_10000_deliveries_exactly_once(ledger, relays):
    event_ids = seed(10_000, "test.ledger", "tests.ledger")

    group = relays(3)
    wait_until_finished(group)

    assert_each_ran_once(event_ids)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert group.exits == []


@needs_postgres
def test_c10a_relays_killed_mid_batch_lose_and_repeat_nothing(ledger, relays):
    event_ids = seed(
        10_000, "test.ledger", "tests.ledger", payload=lambda n: {"sleep": 0.0005}
    )

    group = relays(3)
    for _ in range(6):
        time.sleep(0.7)
        group.kill_one()
        group.restart_dead()
    wait_until_finished(group)

    assert_each_ran_once(event_ids)
    assert group.exits.count(-signal.SIGKILL) == 6
    assert Delivery.objects.filter(state=State.DEAD).count() == 0
    # Deliveries caught in a killed batch were charged that attempt.
    assert Delivery.objects.filter(attempts__gt=1).exists()


def test_c10b_a_handler_that_kills_its_relay_ends_dead_and_others_flow(ledger, relays):
    event_ids = seed(
        300, "test.ledger", "tests.ledger", payload=lambda n: {"crash": n == 7}
    )
    poison_id = event_ids[7]

    group = relays(2, OUTBOX_MAX_ATTEMPTS="3")
    wait_until_finished(group)

    poison = Delivery.objects.get(event_id=poison_id)
    assert poison.state == State.DEAD
    assert poison.attempts == 4  # three crashes, then found dead on the fourth claim
    assert "lease expired" in poison.last_error
    others = Delivery.objects.exclude(pk=poison.pk)
    assert set(others.values_list("state", flat=True)) == {State.DONE}
    # The poison's own writes died with it, every time.
    assert ledger_rows() == sorted(set(event_ids) - {poison_id})
    assert group.exits.count(17) == 3


@needs_postgres
def test_c9_slow_handlers_are_never_handed_out_twice(ledger, relays):
    """Handlers that outlive their 2 s lease, with relays watching for it."""
    in_transaction = seed(
        6, "test.ledger", "tests.ledger", payload=lambda n: {"sleep": 3}
    )
    outside = seed(
        6, "test.slow_outside", "tests.slow_outside", payload=lambda n: {"sleep": 3}
    )

    group = relays(3)
    wait_until_finished(group, timeout_s=90)

    assert_each_ran_once(in_transaction + outside)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert group.exits == []


def terminate_relay_connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@needs_postgres
def test_relay_recovers_when_its_connection_is_killed(ledger, relays):
    event_ids = seed(
        4000, "test.ledger", "tests.ledger", payload=lambda n: {"sleep": 0.001}
    )
    name = "sharebook-relay-under-test"
    url = f"{get_test_database_url()}?application_name={name}"

    group = relays(1, DATABASE_URL=url)
    killed = 0
    for _ in range(4):
        time.sleep(0.8)
        killed += terminate_relay_connections(name)
    wait_until_finished(group)

    assert killed >= 4
    assert_each_ran_once(event_ids)
    assert group.exits == []  # it reconnected by itself


def restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=60,
    )


@needs_postgres
@pytest.mark.skipif(
    shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"),
    reason="restarts the machine's own PostgreSQL cluster",
)
def test_relays_recover_when_postgres_restarts_mid_drain(ledger, relays):
    event_ids = seed(
        4000, "test.ledger", "tests.ledger", payload=lambda n: {"sleep": 0.001}
    )

    group = relays(2)
    time.sleep(1)
    restart_postgres()
    connection.close()  # ours died with the server too
    wait_until_finished(group)

    assert_each_ran_once(event_ids)
    assert group.exits == []
