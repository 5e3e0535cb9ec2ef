"""``GET /metrics``: the outbox, notifications and share requests for Prometheus.

Table figures are read from the database at scrape time, so every web process
answers the same. Share requests are counted by the process that served them:
with several worker processes, each exposes its own share of the requests
(see the README's "Known limitations").
"""

import time

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from notifications.models import Notification
from outbox.models import Delivery
from outbox.operations import measure_lag

# The share route of the API: POST /api/books/.
SHARE_ROUTE = "book-list"

registry = CollectorRegistry()

share_requests = Counter(
    "sharebook_share_requests",
    "Share requests (POST /api/books/) served by this process, by status code.",
    ["status"],
    registry=registry,
)
share_latency = Histogram(
    "sharebook_share_request_seconds",
    "Time to answer a share request in this process, from the first middleware.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=registry,
)


class TableCollector:
    """Counts read with GROUP BY queries when Prometheus scrapes."""

    def describe(self):
        # Declared without values, so registering queries nothing.
        return self.families()

    def collect(self):
        deliveries, lag, notifications = self.families()
        rows = Delivery.objects.values("subscriber", "state").annotate(n=Count("id"))
        for row in rows.order_by():
            deliveries.add_metric([row["subscriber"], row["state"]], row["n"])
        lag.add_metric([], measure_lag() or 0.0)
        rows = Notification.objects.values("status").annotate(n=Count("id"))
        for row in rows.order_by():
            notifications.add_metric([row["status"]], row["n"])
        return [deliveries, lag, notifications]

    def families(self):
        return [
            GaugeMetricFamily(
                "sharebook_outbox_deliveries",
                "Outbox deliveries by subscriber and state.",
                labels=["subscriber", "state"],
            ),
            GaugeMetricFamily(
                "sharebook_outbox_lag_seconds",
                "How long the oldest due delivery has waited (0 when none waits).",
            ),
            GaugeMetricFamily(
                "sharebook_notifications",
                "Stored notifications by status.",
                labels=["status"],
            ),
        ]


registry.register(TableCollector())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4
    )


class ShareMetricsMiddleware:
    """Count and time the share requests; every other request passes untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if is_share(request):
            share_latency.observe(time.perf_counter() - started)
            share_requests.labels(status=str(response.status_code)).inc()
        return response


def is_share(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return (
        request.method == "POST" and match is not None and match.url_name == SHARE_ROUTE
    )
