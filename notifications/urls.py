from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.views import DeviceViewSet, MeView

router = SimpleRouter()
router.register("devices", DeviceViewSet, basename="device")
urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
