from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "arbridge.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from arbridge.payments.signals import checkout_paid
        from arbridge.portal import tasks

        def send_receipt(sender, checkout_id: int, **kwargs) -> None:
            tasks.send_receipt(checkout_id)

        checkout_paid.connect(send_receipt, weak=False, dispatch_uid="portal-receipt")
