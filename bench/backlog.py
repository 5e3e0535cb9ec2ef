"""Throughput with a million deliveries waiting, next to ten thousand.

    python bench/backlog.py [--backlog 1000000] [--small 10000] [--measure 50000]

The claim query must use its index, not scan the backlog: draining the same
number of deliveries should cost about the same whatever waits behind them.
Also samples the relay's memory across the run. Runs on PostgreSQL
(BENCH_DATABASE_URL). Prints one JSON object as its last line.
"""

import argparse
import json
import time

from database import prepare_database
from drain import seed


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def drain_count(count: int) -> tuple[float, float, float]:
    """Drain ``count`` deliveries; return (per second, first RSS, peak RSS)."""
    from outbox import relay

    done = 0
    first = peak = rss_mb()
    started = time.perf_counter()
    while done < count:
        stats = relay.drain(budget_s=1)
        if not stats.handled:
            break
        done += stats.handled
        peak = max(peak, rss_mb())
    return done / (time.perf_counter() - started), first, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--measure", type=int, default=50_000)
    args = parser.parse_args()

    prepare_database()
    from outbox.registry import subscriber

    subscriber("bench.noop", name="bench.noop")(lambda event: None)

    seed(args.small)
    per_s_small, _, _ = drain_count(args.small)
    seed(args.backlog)
    per_s_large, first_mb, peak_mb = drain_count(args.measure)

    result = {
        "per_s_10k": round(per_s_small),
        "per_s_1m": round(per_s_large),
        "ratio": round(per_s_large / per_s_small, 3),
        "rss_growth_mb": round(peak_mb - first_mb, 1),
    }
    print(
        f"{args.small} waiting: {per_s_small:.0f}/s; {args.backlog} waiting: "
        f"{per_s_large:.0f}/s over {args.measure}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
