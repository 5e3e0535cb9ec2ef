"""Creating accounts."""

import logging

from django.db import IntegrityError, transaction

from accounts.models import User

logger = logging.getLogger(__name__)


class UsernameTaken(Exception):
    """Another account has this name, in some case or spelling."""


def sign_up(username: str, password: str, email: str = "") -> User:
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, password=password, email=email
            )
    except IntegrityError:
        # Two sign-ups raced for one name; the constraint let only one through.
        raise UsernameTaken(username) from None
    logger.info("user %s signed up", user.pk, extra={"user_id": user.pk})
    return user
