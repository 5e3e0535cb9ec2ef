from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers

from notifications.conf import get_settings
from notifications.fanout import get_max_radius_km
from notifications.models import Device, Notification, NotificationPreference
from notifications.tokens import (
    MAX_TOKEN_LENGTH,
    check_auth_secret,
    check_endpoint,
    check_expo_token,
    check_fcm_token,
    check_p256dh,
)
from places.serializers import latitude_field, longitude_field
from sharebook.fields import StrictFloatField, StrictInputMixin

Platform = Device.Platform

printable_ascii = RegexValidator(
    r"^[\x20-\x7e]+\Z", "Push tokens are printable ASCII characters."
)
TOKEN_CHECKS = {Platform.FCM: check_fcm_token, Platform.EXPO: check_expo_token}


class SubscriptionKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200, validators=[check_p256dh])
    auth = serializers.CharField(max_length=100, validators=[check_auth_secret])


class SubscriptionSerializer(serializers.Serializer):
    """A Web Push subscription as the browser's PushSubscription.toJSON() gives it."""

    endpoint = serializers.CharField(
        max_length=MAX_TOKEN_LENGTH, validators=[printable_ascii]
    )
    keys = SubscriptionKeysSerializer()

    def validate_endpoint(self, value: str) -> str:
        check_endpoint(value, get_settings())
        return value


class DeviceSerializer(StrictInputMixin, serializers.ModelSerializer):
    """A push device: a ``token`` for FCM and Expo, a ``subscription`` for Web Push."""

    token = serializers.CharField(
        max_length=MAX_TOKEN_LENGTH, required=False, validators=[printable_ascii]
    )
    subscription = SubscriptionSerializer(required=False, write_only=True)

    class Meta:
        model = Device
        fields = ["id", "platform", "token", "subscription", "active", "created_at"]
        read_only_fields = ["active", "created_at"]

    def validate(self, attrs: dict) -> dict:
        if attrs["platform"] == Platform.WEBPUSH:
            return self.validate_webpush(attrs)
        if "subscription" in attrs:
            raise serializers.ValidationError(
                {"subscription": ["Only Web Push devices have a subscription."]}
            )
        if "token" not in attrs:
            raise serializers.ValidationError({"token": ["This field is required."]})
        try:
            TOKEN_CHECKS[attrs["platform"]](attrs["token"])
        except DjangoValidationError as error:
            raise serializers.ValidationError({"token": error.messages}) from error
        return attrs

    def validate_webpush(self, attrs: dict) -> dict:
        subscription = attrs.pop("subscription", None)
        if subscription is None:
            raise serializers.ValidationError(
                {"subscription": ["Give the browser's push subscription."]}
            )
        if "token" in attrs:
            raise serializers.ValidationError(
                {"token": ["A Web Push device is given by its subscription."]}
            )
        attrs["token"] = subscription["endpoint"]
        attrs["keys"] = dict(subscription["keys"])
        return attrs

    def to_representation(self, device: Device) -> dict:
        data = super().to_representation(device)
        if device.platform == Platform.WEBPUSH:
            data["subscription"] = {"endpoint": device.token, "keys": device.keys}
        else:
            data["subscription"] = None
        return data


class PreferenceSerializer(StrictInputMixin, serializers.ModelSerializer):
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


class InboxItemSerializer(serializers.ModelSerializer):
    book = serializers.IntegerField(source="book_id", read_only=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "book", "title", "body", "created_at", "read", "read_at"]
        read_only_fields = fields

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None
