from django.apps import AppConfig


class AutopayConfig(AppConfig):
    name = "arbridge.autopay"
    default_auto_field = "django.db.models.BigAutoField"
