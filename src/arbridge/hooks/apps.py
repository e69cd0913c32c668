from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "arbridge.hooks"
    label = "hooks"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Outbound webhooks"
