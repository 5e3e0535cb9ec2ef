"""How fast the relay drains, next to a bare SQL loop and to django-q2 itself.

    python bench/drain.py [--events 100000] [--q2-events 2000]

Runs on PostgreSQL (BENCH_DATABASE_URL, default a sharebook_bench database on
127.0.0.1, created if missing). Prints one JSON object as its last line.
"""

import argparse
import json
import subprocess
import sys
import time
import uuid

from database import PROJECT, prepare_database

BATCH = 50


def seed(count: int) -> None:
    from django.db import connection

    # Set-based inserts: seeding is not what is measured.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE outbox_delivery, outbox_event RESTART IDENTITY")
        cursor.execute(
            "INSERT INTO outbox_event (topic, key, payload, created_at) "
            "SELECT 'bench.noop', '', '{}'::jsonb, now() FROM generate_series(1, %s)",
            [count],
        )
        cursor.execute(
            "INSERT INTO outbox_delivery (event_id, subscriber, key, ordered, state, "
            "attempts, available_at, last_error, last_traceback, created_at) "
            "SELECT id, 'bench.noop', '', false, 'pending', 0, now(), '', '', now() "
            "FROM outbox_event"
        )
        # A backlog that has sat for a while: vacuumed, with its writes flushed,
        # so the run does not measure the seeding's own aftermath.
        cursor.execute("VACUUM ANALYZE outbox_delivery")
        cursor.execute("VACUUM ANALYZE outbox_event")
        cursor.execute("CHECKPOINT")


def time_relay(count: int) -> float:
    from outbox import relay
    from outbox.models import Delivery

    seed(count)
    started = time.perf_counter()
    while True:
        stats = relay.drain(budget_s=3600)
        if not stats.handled:
            break
    elapsed = time.perf_counter() - started
    assert Delivery.objects.filter(state="done").count() == count
    return elapsed


def time_raw_sql(count: int, url: str) -> float:
    """The floor: claim a batch with one statement, complete it with another."""
    import psycopg

    seed(count)
    claim = (
        "UPDATE outbox_delivery SET state = 'running', lease_token = %s, "
        "leased_until = now() + interval '5 minutes', attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM outbox_delivery WHERE state = 'pending' "
        "AND available_at <= now() ORDER BY available_at, id LIMIT %s "
        "FOR UPDATE SKIP LOCKED) RETURNING id, event_id"
    )
    finish = (
        "UPDATE outbox_delivery SET state = 'done', done_at = now(), "
        "lease_token = NULL, leased_until = NULL WHERE id = ANY(%s)"
    )
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        while True:
            with conn.transaction():
                rows = conn.execute(claim, [uuid.uuid4(), BATCH]).fetchall()
                if not rows:
                    break
                noop_all(rows)
                conn.execute(finish, [[row_id for row_id, _ in rows]])
    return time.perf_counter() - started


def noop_all(rows) -> None:
    for _ in rows:
        pass


def time_django_q2(count: int) -> float:
    """One django-q2 task per event, through its ORM broker and a real cluster."""
    from django.db import connection
    from django_q.models import OrmQ, Success
    from django_q.tasks import async_task

    OrmQ.objects.all().delete()
    Success.objects.all().delete()
    cluster = subprocess.Popen(
        [sys.executable, str(PROJECT / "manage.py"), "qcluster"],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # let the cluster start; not part of the time
        started = time.perf_counter()
        for n in range(count):
            async_task("math.floor", n, save=False)
        while OrmQ.objects.exists():
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--q2-events", type=int, default=2_000)
    args = parser.parse_args()

    url = prepare_database()
    from outbox.registry import subscriber

    subscriber("bench.noop", name="bench.noop")(lambda event: None)

    relay_s = time_relay(args.events)
    raw_s = time_raw_sql(args.events, url)
    q2_s = time_django_q2(args.q2_events)
    relay_per_s = args.events / relay_s
    raw_per_s = args.events / raw_s
    q2_per_s = args.q2_events / q2_s
    print(f"relay   {relay_per_s:10.0f} deliveries/s")
    print(f"raw SQL {raw_per_s:10.0f} deliveries/s")
    print(f"django-q2 {q2_per_s:8.0f} tasks/s ({args.q2_events} tasks)")
    result = {
        "events": args.events,
        "relay_per_s": round(relay_per_s),
        "raw_sql_per_s": round(raw_per_s),
        "django_q2_per_s": round(q2_per_s),
        "ratio_raw": round(relay_per_s / raw_per_s, 3),
        "ratio_django_q2": round(relay_per_s / q2_per_s, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
