from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "arbridge.integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from arbridge.core.models import Connection
        from arbridge.integrations import registry, tasks  # noqa: F401 (its signal receivers)

        # Core names no vendor; the registry tells a connection what its kind is called
        # and which preferences it takes.
        Connection.kinds = registry
