from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo partner and its `arbridge demo` command; no models."""

    name = "arbridge.demo"
    label = "demo"
