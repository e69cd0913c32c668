"""The states a payment can be in, which an invoice's settlement also reads."""

from django.db import models


class PaymentStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    RETURNED = "returned"


class PaymentOrigin(models.TextChoices):
    ARBRIDGE = "arbridge"
    EXTERNAL = "external"
