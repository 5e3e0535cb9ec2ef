"""A relay process for the outbox tests, with their subscribers loaded.

Run as ``python -m tests.outbox.relay_process`` from the project folder; it
drains forever, like ``manage.py outbox drain --forever``.
"""

import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharebook.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from tests.outbox import handlers  # noqa: F401 - registers the subscribers

    call_command("outbox", "drain", "--forever", "--poll", "0.05")


if __name__ == "__main__":
    main()
