import json

from django.contrib import admin, messages
from django.utils.html import format_html

from outbox import operations
from outbox.models import Delivery, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "key", "created_at"]
    list_filter = ["topic"]
    search_fields = ["=id", "key"]
    readonly_fields = ["topic", "key", "created_at", "replay_of", "payload_readable"]
    exclude = ["payload"]
    show_full_result_count = False

    @admin.display(description="payload")
    def payload_readable(self, event):
        return show_payload(event.payload)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "subscriber",
        "state",
        "attempts",
        "available_at",
        "last_error",
    ]
    list_filter = ["state", "subscriber", "event__topic", "ordered"]
    search_fields = ["=id", "=event__id"]
    list_select_related = ["event"]
    readonly_fields = [
        *[f.name for f in Delivery._meta.fields if f.name != "last_traceback"],
        "payload_readable",
        "traceback_readable",
    ]
    exclude = ["last_traceback"]
    actions = ["retry", "mark_dead"]
    show_full_result_count = False

    @admin.action(description="Retry the selected deliveries now")
    def retry(self, request, queryset):
        count = operations.retry_deliveries(queryset)
        self.message_user(
            request, f"{count} deliveries queued again.", messages.SUCCESS
        )

    @admin.action(description="Mark the selected deliveries dead")
    def mark_dead(self, request, queryset):
        reason = f"Marked dead by {request.user} in the admin."
        count = operations.kill_deliveries(queryset, reason)
        self.message_user(request, f"{count} deliveries marked dead.", messages.SUCCESS)

    @admin.display(description="traceback")
    def traceback_readable(self, delivery):
        return format_html("<pre>{}</pre>", delivery.last_traceback or "-")

    @admin.display(description="payload")
    def payload_readable(self, delivery):
        return show_payload(delivery.event.payload)


def show_payload(payload) -> str:
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html("<pre>{}</pre>", text)
