from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "arbridge.integrations.files"
    label = "integration_files"
    verbose_name = "File imports"
    default_auto_field = "django.db.models.BigAutoField"
