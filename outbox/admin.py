import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from outbox import operations
from outbox.models import Delivery, Event
from outbox.registry import get_all_subscribers
from sharebook.admin_tables import LargeTableAdmin

State = Delivery.State


class RegisteredChoiceFilter(admin.SimpleListFilter):
    """Choices from the registry rather than a DISTINCT over a big table.

    Names no longer registered still filter when given in the URL.
    """

    field = ""

    def lookups(self, request, model_admin):
        return [(name, name) for name in self.names()]

    def names(self) -> list[str]:
        raise NotImplementedError

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class SubscriberFilter(RegisteredChoiceFilter):
    title = "subscriber"
    parameter_name = field = "subscriber"

    def names(self):
        return sorted(sub.name for sub in get_all_subscribers())


class TopicFilter(RegisteredChoiceFilter):
    title = "topic"

    def names(self):
        return sorted({sub.topic for sub in get_all_subscribers()})


class EventTopicFilter(TopicFilter):
    parameter_name = field = "topic"


class DeliveryTopicFilter(TopicFilter):
    parameter_name = "topic"
    field = "event__topic"


@admin.register(Event)
class EventAdmin(LargeTableAdmin):
    list_display = ["id", "topic", "key", "created_at"]
    list_filter = [EventTopicFilter]
    search_fields = ["=id", "key"]
    readonly_fields = ["topic", "key", "created_at", "replay_of", "payload_readable"]
    exclude = ["payload"]

    @admin.display(description="payload")
    def payload_readable(self, event):
        return show_payload(event.payload)


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin):
    list_display = [
        "id",
        "event",
        "subscriber",
        "state",
        "attempts",
        "waiting",
        "available_at",
        "short_error",
    ]
    list_filter = ["state", SubscriberFilter, DeliveryTopicFilter, "ordered"]
    search_fields = ["=id", "=event__id"]
    list_select_related = ["event"]
    readonly_fields = [
        *[f.name for f in Delivery._meta.fields if f.name != "last_traceback"],
        "payload_readable",
        "traceback_readable",
    ]
    exclude = ["last_traceback"]
    actions = ["retry", "mark_dead"]

    def changelist_view(self, request, extra_context=None):
        # Two indexed queries, the same as GET /health/ runs.
        lag = operations.measure_lag()
        dead = Delivery.objects.filter(state=State.DEAD).count()
        waited = "none waits" if lag is None else f"waiting {format_age(lag)}"
        summary = f"Oldest due delivery: {waited}. Dead: {dead}."
        extra_context = {**(extra_context or {}), "outbox_summary": summary}
        return super().changelist_view(request, extra_context)

    @admin.action(
        description="Retry the selected deliveries now", permissions=["change"]
    )
    def retry(self, request, queryset):
        count = operations.retry_deliveries(queryset)
        self.message_user(
            request, f"{count} deliveries queued again.", messages.SUCCESS
        )

    @admin.action(
        description="Mark the selected deliveries dead", permissions=["change"]
    )
    def mark_dead(self, request, queryset):
        reason = f"Marked dead by {request.user} in the admin."
        count = operations.kill_deliveries(queryset, reason)
        self.message_user(request, f"{count} deliveries marked dead.", messages.SUCCESS)

    @admin.display(description="waiting")
    def waiting(self, delivery):
        """How long a due delivery has waited: its share of the outbox's lag."""
        now = timezone.now()
        if delivery.state != State.PENDING or delivery.available_at > now:
            return "-"
        return format_age((now - delivery.available_at).total_seconds())

    @admin.display(description="last error")
    def short_error(self, delivery):
        error = delivery.last_error
        return error if len(error) <= 100 else f"{error[:99]}…"

    @admin.display(description="traceback")
    def traceback_readable(self, delivery):
        return format_html("<pre>{}</pre>", delivery.last_traceback or "-")

    @admin.display(description="payload")
    def payload_readable(self, delivery):
        return show_payload(delivery.event.payload)


def show_payload(payload) -> str:
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html("<pre>{}</pre>", text)


def format_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
