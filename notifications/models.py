from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from books.models import Book
from places.geo import check_finite


class Device(models.Model):
    class Platform(models.TextChoices):
        FCM = "fcm", "Firebase Cloud Messaging"
        EXPO = "expo", "Expo"
        WEBPUSH = "webpush", "Web Push"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    platform = models.CharField(max_length=10, choices=Platform)
    # The provider's address of the device; for Web Push, the endpoint URL.
    token = models.TextField(unique=True)
    # Web Push only: the subscription's "p256dh" and "auth" keys.
    keys = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "active"])]

    def __str__(self):
        return f"{self.platform} device of {self.user}"


class NotificationPreference(models.Model):
    """Where, and how far around it, a user wants to hear about new books."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    latitude = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90), check_finite],
    )
    longitude = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180), check_finite],
    )
    radius_km = models.FloatField(
        default=10, validators=[MinValueValidator(0), check_finite]
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self):
        return f"preference of {self.user}"


class Notification(models.Model):
    """A push stored before it is sent, so it is delayed by outages, never lost."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # No index of their own on recipient and book: the inbox index and the
    # unique constraint lead with them, and each index more is one more write
    # at every change of status.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    # Kept in the inbox when the device is removed; it is then never sent.
    device = models.ForeignKey(
        Device,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    book = models.ForeignKey(
        Book, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    event_id = models.BigIntegerField(help_text="The outbox event that caused it.")
    title = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["book", "device"], name="notifications_once_per_book_device"
            )
        ]
        indexes = [
            models.Index(fields=["book", "status", "next_attempt_at"]),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self):
        return f"notification {self.pk} to device {self.device_id} ({self.status})"
