from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.views import DeviceViewSet, InboxViewSet, MeView

router = SimpleRouter()
router.register("devices", DeviceViewSet, basename="device")
router.register("notifications", InboxViewSet, basename="notification")
urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
