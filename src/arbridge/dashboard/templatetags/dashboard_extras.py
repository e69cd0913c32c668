import datetime as dt
from decimal import Decimal

from django import template

from arbridge.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    """Format an amount with thousands separators and its currency code."""
    if amount is None:
        return ""
    return format_money(amount, currency)


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """Format a run's duration as 1h 2m, 3m 4s or 5.6s."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


@register.filter
def decimal(value: Decimal | None, min_places: int = 0) -> str:
    """Format a quantity or unit price: no trailing zeros beyond min_places."""
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent
    places = max(min_places, -exponent if isinstance(exponent, int) else 0)
    return f"{value:,.{places}f}"
