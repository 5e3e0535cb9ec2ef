from django.conf import settings
from django.db import models

from places.models import Place


class Book(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        HIDDEN = "hidden", "Hidden by a moderator"
        WITHDRAWN = "withdrawn", "Withdrawn by its owner"
        # Shared while BOOKS_REQUIRE_APPROVAL is on: announced once approved.
        PENDING_REVIEW = "pending_review", "Waiting for a moderator"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="books"
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="books")
    title = models.CharField(max_length=300)
    author = models.CharField(max_length=300)
    isbn = models.CharField(max_length=13, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self):
        return f"{self.title} by {self.author}"


def picture_path(picture: "Picture", filename: str) -> str:
    return f"books/{picture.book_id}/{filename}"


class Picture(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="pictures")
    image = models.ImageField(upload_to=picture_path)
    position = models.PositiveSmallIntegerField()
    # Made in the background after the share (books.handlers), empty until then.
    thumbnail = models.ImageField(blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "position"], name="books_picture_unique_position"
            )
        ]

    def __str__(self):
        return f"picture {self.position} of book {self.book_id}"


class Report(models.Model):
    """A signed-in user's complaint about a book, until a moderator resolves it."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            # A user reports a book once; a second complaint adds nothing.
            models.UniqueConstraint(
                fields=["book", "reporter"], name="books_report_once_per_reporter"
            )
        ]

    def __str__(self):
        return f"report {self.pk} on book {self.book_id}"
