"""A partner's settings for the figures: what a manual entry costs, and when arbridge went live."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from arbridge.core import clock
from arbridge.core.models import Partner

DEFAULT_MINUTES_PER_ENTRY = 5


class MetricsSettings(models.Model):
    """One row per partner (`of`)."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="+")
    minutes_per_entry = models.PositiveSmallIntegerField(
        "Minutes per manual entry",
        default=DEFAULT_MINUTES_PER_ENTRY,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How long a person takes to key in one payment or deposit by hand.",
    )
    live_since = models.DateField(
        "Live since",
        null=True,
        blank=True,
        help_text="The day arbridge took over; empty means the day of the first connection.",
    )
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "metrics settings"

    def __str__(self) -> str:
        return f"Metrics settings of partner {self.partner_id}"

    @classmethod
    def of(cls, partner: Partner | int) -> "MetricsSettings":
        partner_id = partner if isinstance(partner, int) else partner.pk
        found, _ = cls.objects.get_or_create(partner_id=partner_id)
        return found
