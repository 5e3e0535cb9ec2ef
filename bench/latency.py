"""Time from commit to handler start, next to a bare django-q2 task.

    python bench/latency.py [--rate 50] [--seconds 30]

Publishes events at a steady rate (as shares would) with a real qcluster
draining, then does the same with plain async_task calls on the same broker.
Runs on PostgreSQL (BENCH_DATABASE_URL). Prints one JSON object last.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from database import PROJECT, prepare_database

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def start_cluster() -> subprocess.Popen:
    env = {
        **os.environ,
        "OUTBOX_HANDLER_MODULES": "latency_probe",
        "PYTHONPATH": BENCH_DIR,
    }
    cluster = subprocess.Popen(
        [sys.executable, str(PROJECT / "manage.py"), "qcluster"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(4)  # start-up is not part of what is measured
    return cluster


def at_steady_rate(rate: float, seconds: float, action) -> int:
    count = int(rate * seconds)
    started = time.monotonic()
    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        action()
    return count


def publish_one() -> None:
    from django.db import transaction

    from outbox.publisher import publish

    with transaction.atomic():
        publish("bench.latency", {})


def enqueue_one() -> None:
    from django_q.tasks import async_task

    async_task("latency_probe.record_bare_latency", time.time(), save=False)


def wait_for(kind: str, count: int, timeout_s: float = 120) -> list[float]:
    from django.db import connection

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT ms FROM bench_latency WHERE kind = %s", [kind])
            values = [row[0] for row in cursor.fetchall()]
        if len(values) >= count:
            return values
        time.sleep(0.5)
    raise SystemExit(f"only {len(values)} of {count} {kind} runs arrived")


def wait_until_idle() -> None:
    """Let the first run's drains finish before measuring the bare tasks."""
    from django_q.models import OrmQ

    while OrmQ.objects.exists():
        time.sleep(0.5)
    time.sleep(5)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    prepare_database()
    sys.path.insert(0, BENCH_DIR)
    import latency_probe  # noqa: F401 - registers bench.latency here too
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_latency")
        cursor.execute("CREATE TABLE bench_latency (kind text, ms double precision)")
        cursor.execute("TRUNCATE outbox_delivery, outbox_event, django_q_ormq")

    cluster = start_cluster()
    try:
        sent = at_steady_rate(args.rate, args.seconds, publish_one)
        outbox = wait_for("outbox", sent)
        wait_until_idle()
        sent = at_steady_rate(args.rate, args.seconds, enqueue_one)
        bare = wait_for("bare", sent)
    finally:
        cluster.terminate()
        cluster.wait(timeout=60)

    result = {
        "p50_ms": round(statistics.median(outbox), 1),
        "p99_ms": round(percentile(outbox, 0.99), 1),
        "bare_p50_ms": round(statistics.median(bare), 1),
        "bare_p99_ms": round(percentile(bare, 0.99), 1),
    }
    result["ratio_p50"] = round(result["p50_ms"] / result["bare_p50_ms"], 2)
    print(f"outbox: {len(outbox)} events, bare django-q2: {len(bare)} tasks")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
