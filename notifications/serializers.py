from rest_framework import serializers

from notifications.models import Device, NotificationPreference
from notifications.services import get_max_radius_km
from places.serializers import latitude_field, longitude_field


class DeviceSerializer(serializers.ModelSerializer):
    token = serializers.CharField(max_length=4096)

    class Meta:
        model = Device
        fields = ["id", "platform", "token", "active", "created_at"]
        read_only_fields = ["active", "created_at"]


class PreferenceSerializer(serializers.ModelSerializer):
    latitude = latitude_field(allow_null=True, required=False)
    longitude = longitude_field(allow_null=True, required=False)
    radius_km = serializers.FloatField(min_value=0, required=False)

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
