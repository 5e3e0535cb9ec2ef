from collections.abc import Mapping

from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Device, NotificationPreference
from notifications.serializers import (
    DeviceSerializer,
    PreferenceSerializer,
)
from notifications.services import register_device, update_preference


class DeviceViewSet(
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DeviceSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return Device.objects.filter(user=self.request.user).order_by("id")

    def create(self, request):
        serializer = DeviceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = register_device(
            request.user,
            serializer.validated_data["platform"],
            serializer.validated_data["token"],
        )
        return Response(DeviceSerializer(device).data, status=201)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        return Response(self.describe(request.user))

    def patch(self, request):
        if not isinstance(request.data, Mapping):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        preference = NotificationPreference.objects.filter(user=request.user).first()
        prefs = PreferenceSerializer(
            preference, data=request.data.get("notifications", {}), partial=True
        )
        prefs.is_valid(raise_exception=True)
        update_preference(request.user, **prefs.validated_data)
        return Response(self.describe(request.user))

    def describe(self, user) -> dict:
        preference = NotificationPreference.objects.filter(user=user).first()
        return {
            "id": user.pk,
            "username": user.username,
            "notifications": PreferenceSerializer(
                preference or NotificationPreference(user=user)
            ).data,
        }
