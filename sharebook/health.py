"""``GET /health/``: is the database reachable, and is the outbox keeping up?

Polled often by load balancers and monitors, so it runs only indexed queries
whose cost does not grow with the size of the tables' done rows.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from outbox.models import Delivery
from outbox.operations import measure_lag

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when all is well; 503 when the database is out of reach or lags."""
    max_lag_s = settings.HEALTH["MAX_LAG_S"]
    outbox = {"lag_s": None, "dead": None, "max_lag_s": max_lag_s}
    try:
        check_database()
        outbox["lag_s"] = round_or_none(measure_lag())
        outbox["dead"] = Delivery.objects.filter(state=Delivery.State.DEAD).count()
    except DatabaseError as error:
        # No traceback: monitors poll often, and the cause is the database's.
        logger.error("health check: the database is out of reach: %s", error)
        return answer("error", outbox, healthy=False)

    lagging = outbox["lag_s"] is not None and outbox["lag_s"] > max_lag_s
    return answer("ok", outbox, healthy=not lagging)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def answer(database: str, outbox: dict, *, healthy: bool) -> JsonResponse:
    body = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "outbox": outbox,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def round_or_none(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
