"""Throughput with a million deliveries waiting, next to ten thousand.

    python bench/backlog.py [--backlog 1000000] [--small 10000] [--measure 50000]

The claim query must use its index, not scan the backlog: draining the same
number of deliveries should cost about the same whatever waits behind them.
Also samples the relay's memory across the run. Runs on PostgreSQL
(BENCH_DATABASE_URL). Prints one JSON object as its last line.
"""

import argparse
import json
import statistics
import time

from database import prepare_database
from drain import seed

ROUNDS = 3


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
    parser.add_argument(
        "--measure", type=int, default=50_000, help="a longer drain, for memory"
    )
    args = parser.parse_args()

    prepare_database()
    from outbox.registry import subscriber

    subscriber("bench.noop", name="bench.noop")(lambda event: None)

    seed(2_000)
    drain_count(2_000)  # warm up connections, caches and plans
    small_runs = []
    for _ in range(ROUNDS):
        seed(args.small)
        small_runs.append(drain_count(args.small)[0])
    seed(args.backlog)
    large_runs = []
    first_mb = peak_mb = rss_mb()
    for _ in range(ROUNDS):
        per_s, _, peak = drain_count(args.small)
        large_runs.append(per_s)
        peak_mb = max(peak_mb, peak)
    drain_count(args.measure)  # a longer stretch, for the memory figure
    peak_mb = max(peak_mb, rss_mb())
    per_s_small = statistics.median(small_runs)
    per_s_large = statistics.median(large_runs)

    result = {
        "per_s_10k": round(per_s_small),
        "per_s_1m": round(per_s_large),
        "ratio": round(per_s_large / per_s_small, 3),
        "rss_growth_mb": round(peak_mb - first_mb, 1),
    }
    print(
        f"median of {ROUNDS} runs of {args.small}: {per_s_small:.0f}/s with "
        f"{args.small} waiting, {per_s_large:.0f}/s with {args.backlog} waiting"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
