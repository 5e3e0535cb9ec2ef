import unicodedata

from django.contrib.auth.models import AbstractUser
from django.db import models


def fold_username(username: str) -> str:
    """The form two usernames share when people would read them as the same."""
    return unicodedata.normalize("NFKC", username).casefold()


class User(AbstractUser):
    # Backs "one account per name, whatever the case" with a constraint; the
    # database's own case folding (SQLite's is ASCII-only) cannot.
    username_key = models.CharField(max_length=150, unique=True, editable=False)

    def save(self, *args, **kwargs):
        self.username_key = fold_username(self.username)
        super().save(*args, **kwargs)
