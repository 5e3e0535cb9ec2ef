"""Functions the django-q2 cluster runs."""

import logging
import time

from outbox import relay, retention
from outbox.conf import get_settings

logger = logging.getLogger(__name__)

# A drain keeps polling this long after its last work, so that events whose
# nudge was coalesced away (see publisher.nudge_relay) are still picked up.
LINGER_FACTOR = 3
POLL_S = 0.1


def drain_outbox() -> dict:
    """Drain until idle for a while or the budget is spent."""
    conf = get_settings()
    linger_s = conf.nudge_interval_s * LINGER_FACTOR
    deadline = time.monotonic() + conf.drain_budget_s
    idle_since = time.monotonic()
    totals = relay.DrainStats()
    while time.monotonic() < deadline:
        if not relay.has_claimable():
            if time.monotonic() - idle_since > linger_s:
                break
            time.sleep(POLL_S)
            continue
        stats = relay.drain(budget_s=deadline - time.monotonic())
        add(totals, stats)
        idle_since = time.monotonic()
    logger.debug("drain finished: %s", totals)
    return totals.__dict__


def sweep_outbox() -> dict:
    """The safety net, every minute: drain what nudges missed, purge old rows."""
    stats = relay.drain()
    purged = retention.purge_done()
    return {**stats.__dict__, "purged": purged}


def add(totals: relay.DrainStats, stats: relay.DrainStats) -> None:
    totals.done += stats.done
    totals.failed += stats.failed
    totals.dead += stats.dead
    totals.skipped += stats.skipped
