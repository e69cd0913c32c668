from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    # The label is not "collections", so that no reader takes `collections.Reminder`
    # for the standard library's module in a migration, a log or the admin.
    name = "arbridge.collections"
    label = "collections_assist"
    verbose_name = "Collections"
    default_auto_field = "django.db.models.BigAutoField"
