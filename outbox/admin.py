import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from outbox.models import Delivery, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "key", "created_at"]
    list_filter = ["topic"]
    search_fields = ["=id", "key"]
    readonly_fields = ["topic", "key", "created_at", "payload_readable"]
    exclude = ["payload"]
    show_full_result_count = False

    @admin.display(description="payload")
    def payload_readable(self, event):
        text = json.dumps(event.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html("<pre>{}</pre>", text)


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
    list_filter = ["state", "subscriber", "event__topic"]
    search_fields = ["=id", "=event__id"]
    list_select_related = ["event"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["retry", "mark_dead"]
    show_full_result_count = False

    @admin.action(description="Retry the selected deliveries now")
    def retry(self, request, queryset):
        count = queryset.exclude(state=Delivery.State.DONE).update(
            state=Delivery.State.PENDING,
            available_at=timezone.now(),
            attempts=0,
            lease_token=None,
            leased_until=None,
        )
        self.message_user(
            request, f"{count} deliveries queued again.", messages.SUCCESS
        )

    @admin.action(description="Mark the selected deliveries dead")
    def mark_dead(self, request, queryset):
        count = queryset.exclude(state=Delivery.State.DONE).update(
            state=Delivery.State.DEAD, lease_token=None, leased_until=None
        )
        self.message_user(request, f"{count} deliveries marked dead.", messages.SUCCESS)
