"""Sharing books: the one place where a share becomes durable."""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from books.models import Book, Picture
from outbox.publisher import publish
from places.models import Place
from places.services import get_or_create_place

logger = logging.getLogger(__name__)

BOOK_SHARED = "book.shared"
BOOK_WITHDRAWN = "book.withdrawn"
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


@dataclass(frozen=True)
class PlaceInput:
    """Either an existing place's id, or a point (with an optional name)."""

    place_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    name: str = ""


def share_book(
    owner,
    *,
    title: str,
    author: str,
    place: PlaceInput,
    isbn: str = "",
    description: str = "",
    pictures: Sequence[UploadedFile] = (),
) -> Book:
    """Store a book, its pictures and the events that follow, all or nothing.

    This is the outermost transaction: picture files written here are removed
    again if it does not commit, so a failed share leaves nothing on disk.
    """
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            book = Book.objects.create(
                owner=owner,
                place=resolve_place(place),
                title=title,
                author=author,
                isbn=isbn,
                description=description,
                status=initial_status(),
            )
            written = save_pictures(book, pictures)
            # A book held for review is announced when a moderator approves
            # it (books.moderation.approve_books), not now.
            if book.status == Book.Status.AVAILABLE:
                publish(BOOK_SHARED, {"book_id": book.pk}, key=f"book:{book.pk}")
    except BaseException:
        delete_files(written)
        raise

    logger.info(
        "book %s shared at place %s",
        book.pk,
        book.place_id,
        extra={"book_id": book.pk, "place_id": book.place_id},
    )
    return book


def initial_status() -> str:
    if settings.BOOKS["REQUIRE_APPROVAL"]:
        return Book.Status.PENDING_REVIEW
    return Book.Status.AVAILABLE


def resolve_place(place: PlaceInput) -> Place:
    if place.place_id is not None:
        return Place.objects.get(pk=place.place_id)
    return get_or_create_place(place.latitude, place.longitude, place.name)


def save_pictures(book: Book, files: Sequence[UploadedFile]) -> list[str]:
    """Write the files and their rows; return the storage names written so far."""
    written: list[str] = []
    pictures = []
    try:
        for position, upload in enumerate(files):
            picture = Picture(book=book, position=position)
            picture.image.save(stored_name(upload), upload, save=False)
            written.append(picture.image.name)
            pictures.append(picture)
        Picture.objects.bulk_create(pictures)
    except BaseException:
        delete_files(written)
        raise
    return written


def stored_name(upload: UploadedFile) -> str:
    """A random name with the extension of the format Pillow found.

    The client's file name is not kept: it may say more about its owner than
    the picture does, and it does not decide how the file is served.
    """
    image_format = getattr(getattr(upload, "image", None), "format", None) or ""
    extension = EXTENSIONS.get(image_format.upper(), ".img")
    return f"{uuid.uuid4().hex}{extension}"


def delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def update_book(book: Book, **changes: str) -> Book:
    """Change the text of a book (title, author, isbn, description)."""
    for name, value in changes.items():
        setattr(book, name, value)
    book.save(update_fields=list(changes))
    logger.info("book %s edited", book.pk, extra={"book_id": book.pk})
    return book


def withdraw_book(book_id: int, owner) -> Book:
    """Take a book back from sharing, and publish ``book.withdrawn`` with it.

    Withdrawing a withdrawn book changes nothing and publishes nothing.
    """
    with transaction.atomic():
        book = Book.objects.select_for_update().get(pk=book_id, owner=owner)
        if book.status == Book.Status.WITHDRAWN:
            return book
        book.status = Book.Status.WITHDRAWN
        book.save(update_fields=["status"])
        publish(BOOK_WITHDRAWN, {"book_id": book.pk}, key=f"book:{book.pk}")

    logger.info("book %s withdrawn", book.pk, extra={"book_id": book.pk})
    return book
