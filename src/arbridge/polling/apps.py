from django.apps import AppConfig


class PollingConfig(AppConfig):
    name = "arbridge.polling"
    label = "polling"
    verbose_name = "Polled connections"
