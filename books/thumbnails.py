"""Thumbnails, made in the background so the share request does not wait."""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from books.models import Picture
from books.pictures import make_thumbnail

logger = logging.getLogger(__name__)


def make_book_thumbnails(book_id: int) -> int:
    """Make the thumbnails a book's pictures lack; return how many were made.

    Runs outside a transaction: each file is written, then its row updated.
    A file has a fixed name per picture, so a repeated run after a crash
    replaces it rather than leaving a stray copy.
    """
    made = 0
    for picture in Picture.objects.filter(book_id=book_id, thumbnail=""):
        with picture.image.open("rb") as original:
            content, extension = make_thumbnail(original)
        name = f"books/{book_id}/thumbnails/{picture.pk}{extension}"
        default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(content))
        Picture.objects.filter(pk=picture.pk).update(thumbnail=saved)
        made += 1
    logger.info(
        "made %s thumbnails for book %s",
        made,
        book_id,
        extra={"book_id": book_id, "thumbnails": made},
    )
    return made
