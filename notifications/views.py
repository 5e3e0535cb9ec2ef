from collections.abc import Mapping

from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Device, NotificationPreference
from notifications.serializers import (
    DeviceSerializer,
    InboxItemSerializer,
    PreferenceSerializer,
)
from notifications.services import (
    inbox_of,
    mark_all_read,
    mark_read,
    register_device,
    remove_device,
    update_preference,
)


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
            keys=serializer.validated_data.get("keys"),
        )
        return Response(DeviceSerializer(device).data, status=201)

    def perform_destroy(self, device):
        remove_device(device)


class InboxViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """My notifications, newest first, one per book, with the unread count."""

    serializer_class = InboxItemSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return inbox_of(self.request.user)

    def list(self, request):
        response = super().list(request)
        unread = self.get_queryset().filter(read_at__isnull=True).count()
        response.data["unread"] = unread
        return response

    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = mark_read(request.user, self.get_object())
        return Response(self.get_serializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked_read": mark_all_read(request.user), "unread": 0})


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        return Response(self.describe(request.user))

    def patch(self, request):
        if not isinstance(request.data, Mapping):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = set(request.data) - {"notifications"}
        if unknown:
            raise ValidationError({name: ["Unknown field."] for name in unknown})
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
