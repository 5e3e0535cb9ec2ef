"""Small builders for test data."""

import io
import itertools

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from notifications.models import Device, NotificationPreference
from places.models import Place

_numbers = itertools.count(1)


def make_user(username: str | None = None, password: str = "correct-horse-42"):
    username = username or f"user{next(_numbers)}"
    return get_user_model().objects.create_user(username=username, password=password)


def make_place(latitude: float = 0.0, longitude: float = 0.0, name: str = "") -> Place:
    return Place.objects.create(latitude=latitude, longitude=longitude, name=name)


def make_listener(latitude: float, longitude: float, radius_km: float = 10, **kwargs):
    """A user who wants to hear about books near a point, with one device."""
    user = make_user(**kwargs)
    NotificationPreference.objects.create(
        user=user, latitude=latitude, longitude=longitude, radius_km=radius_km
    )
    Device.objects.create(user=user, platform="fcm", token=f"token-{user.username}")
    return user


def jpeg_bytes(width: int = 32, height: int = 24, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg_file(name: str = "a.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(**kwargs), content_type="image/jpeg")
