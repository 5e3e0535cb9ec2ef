from django.contrib import admin

from notifications.models import Device, Notification, NotificationPreference


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "platform", "masked_token", "active"]
    list_filter = ["platform", "active"]
    raw_id_fields = ["user"]
    exclude = ["token"]
    readonly_fields = ["masked_token"]

    @admin.display(description="token")
    def masked_token(self, device):
        return f"{device.token[:6]}…{device.token[-4:]}" if device.token else ""


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "latitude", "longitude", "radius_km", "enabled"]
    raw_id_fields = ["user"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "book", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    raw_id_fields = ["recipient", "device", "book"]
    show_full_result_count = False
