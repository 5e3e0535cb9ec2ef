"""Functions the django-q2 cluster runs."""

import logging
import time

from django.db import DatabaseError, connection

from outbox import claims, relay, retention
from outbox.conf import get_settings

logger = logging.getLogger(__name__)

# A drain keeps polling for a while after its last work, so that events whose
# nudge was coalesced away (see publisher.nudge_relay) are still picked up:
# longer after work, shorter when it found none (another drain had it all).
LINGER_AFTER_WORK = 3
LINGER_IDLE = 1.5
POLL_S = 0.1
RECONNECT_PAUSE_S = 1.0


def drain_outbox() -> dict:
    """Drain until idle for a while or the budget is spent."""
    conf = get_settings()
    deadline = time.monotonic() + conf.drain_budget_s
    idle_since = time.monotonic()
    totals = relay.DrainStats()
    while time.monotonic() < deadline:
        stats = drain_once(deadline)
        totals.add(stats)
        if stats.handled:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > linger_for(totals, conf.nudge_interval_s):
            break
        else:
            time.sleep(POLL_S)
    logger.debug("drain finished: %s", totals)
    return totals.__dict__


def linger_for(totals: relay.DrainStats, nudge_interval_s: float) -> float:
    factor = LINGER_AFTER_WORK if totals.handled else LINGER_IDLE
    return nudge_interval_s * factor


def drain_once(deadline: float) -> relay.DrainStats:
    """One pass; a lost database connection is reopened, not fatal."""
    try:
        if not claims.has_claimable():
            return relay.DrainStats()
        return relay.drain(budget_s=max(deadline - time.monotonic(), 0))
    except DatabaseError:
        # Killed connection or restarting server: nothing is lost (the
        # leases run out), so log, reconnect and go on.
        logger.warning("database error while draining; reconnecting", exc_info=True)
        connection.close()
        time.sleep(RECONNECT_PAUSE_S)
        return relay.DrainStats()


def sweep_outbox() -> dict:
    """The safety net, every minute: drain what nudges missed, purge old rows."""
    deadline = time.monotonic() + get_settings().drain_budget_s
    stats = drain_once(deadline)
    purged = retention.purge_done()
    return {**stats.__dict__, "purged": purged}
