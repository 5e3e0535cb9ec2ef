from django.contrib import admin

from notifications.models import Device, Notification, NotificationPreference
from notifications.services import remove_device, send_again
from sharebook.admin_tables import LargeTableAdmin


@admin.register(Device)
class DeviceAdmin(LargeTableAdmin):
    list_display = ["id", "user", "platform", "masked_token", "active"]
    list_filter = ["platform", "active"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__username"]
    raw_id_fields = ["user"]
    exclude = ["token", "keys"]
    readonly_fields = ["masked_token", "deactivated_reason"]

    @admin.display(description="token")
    def masked_token(self, device):
        return f"{device.token[:6]}…{device.token[-4:]}" if device.token else ""

    def delete_model(self, request, obj):
        # What was waiting to go to the device is cancelled, as in the API.
        remove_device(obj)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(LargeTableAdmin):
    list_display = ["user", "latitude", "longitude", "radius_km", "enabled"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(Notification)
class NotificationAdmin(LargeTableAdmin):
    list_display = [
        "id",
        "recipient",
        "book",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status"]
    list_select_related = ["recipient", "book"]
    search_fields = ["=id", "=book__id", "recipient__username"]
    raw_id_fields = ["recipient", "device", "book"]
    actions = ["send_selected_again"]

    @admin.action(
        description="Send the selected failed or cancelled ones again",
        permissions=["change"],
    )
    def send_selected_again(self, request, queryset):
        count = send_again(queryset)
        self.message_user(request, f"{count} notifications will be sent again.")
