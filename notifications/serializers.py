from django.core.validators import RegexValidator
from rest_framework import serializers

from notifications.models import Device, NotificationPreference
from notifications.services import get_max_radius_km
from places.serializers import latitude_field, longitude_field
from sharebook.fields import StrictFloatField

# ASCII only, so the unique index on tokens stays within PostgreSQL's limit
# for one B-tree entry (2704 bytes). FCM and Expo tokens and Web Push
# subscriptions are far shorter.
MAX_TOKEN_LENGTH = 2048


class DeviceSerializer(serializers.ModelSerializer):
    token = serializers.CharField(
        max_length=MAX_TOKEN_LENGTH,
        validators=[
            RegexValidator(
                r"^[\x20-\x7e]+\Z", "Push tokens are printable ASCII characters."
            )
        ],
    )

    class Meta:
        model = Device
        fields = ["id", "platform", "token", "active", "created_at"]
        read_only_fields = ["active", "created_at"]


class PreferenceSerializer(serializers.ModelSerializer):
    latitude = latitude_field(allow_null=True, required=False)
    longitude = longitude_field(allow_null=True, required=False)
    radius_km = StrictFloatField(min_value=0, required=False)

    class Meta:
        model = NotificationPreference
        fields = ["latitude", "longitude", "radius_km", "enabled"]

    def validate_radius_km(self, value: float) -> float:
        limit = get_max_radius_km()
        if value > limit:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {limit:g}."
            )
        return value

    def validate(self, attrs: dict) -> dict:
        current = self.instance
        lat = attrs.get("latitude", current.latitude if current else None)
        lon = attrs.get("longitude", current.longitude if current else None)
        if (lat is None) != (lon is None):
            missing = "longitude" if lon is None else "latitude"
            raise serializers.ValidationError(
                {missing: ["Give latitude and longitude together."]}
            )
        return attrs
