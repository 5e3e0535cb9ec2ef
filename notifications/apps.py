from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from notifications.backends import forget_backends
        from notifications.checks import check_backend
        from notifications.conf import check_settings, get_settings

        check_settings(get_settings(), settings.Q_CLUSTER)
        checks.register(check_backend)
        setting_changed.connect(forget_backends)
