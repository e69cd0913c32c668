from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "arbridge.metrics"
    verbose_name = "Metrics and reports"
    default_auto_field = "django.db.models.BigAutoField"
