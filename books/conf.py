"""The books app's settings, checked at startup."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def check_settings() -> None:
    books = settings.BOOKS
    if books["MAX_PICTURES"] < 1:
        raise ImproperlyConfigured("BOOKS_MAX_PICTURES must be at least 1.")
    if not 0 <= books["MIN_PICTURES"] <= books["MAX_PICTURES"]:
        raise ImproperlyConfigured(
            "BOOKS_MIN_PICTURES must be between 0 and BOOKS_MAX_PICTURES "
            f"({books['MAX_PICTURES']})."
        )
    if books["MAX_PICTURE_BYTES"] < 1:
        raise ImproperlyConfigured("BOOKS_MAX_PICTURE_MB must be at least 1.")
