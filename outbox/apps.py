from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules

SWEEP_SCHEDULE = "outbox sweep"


class OutboxConfig(AppConfig):
    name = "outbox"

    def ready(self):
        from outbox.conf import check_settings, get_settings

        conf = get_settings()
        check_settings(conf, settings.Q_CLUSTER)
        autodiscover_modules("handlers")
        for module in conf.handler_modules:
            import_module(module)
        post_migrate.connect(ensure_sweep_schedule, sender=self)


def ensure_sweep_schedule(sender, using="default", **kwargs) -> None:
    """Keep the one-minute sweep scheduled; run after every migrate."""
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "outbox.tasks.sweep_outbox",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
