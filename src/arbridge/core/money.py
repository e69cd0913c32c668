"""Money: Decimal amounts quantized to their currency's minor unit, never float."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

# ISO 4217 minor units where they differ from 2. Amounts are stored with two
# decimal places, so currencies with three (BHD, KWD, OMR) are not supported.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0}
MAX_DIGITS = 14
DECIMAL_PLACES = 2
ZERO = Decimal("0")


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal | int | str, currency: str = "USD") -> Decimal:
    """Return the amount rounded half-up to the currency's minor unit."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """Return the amount with thousands separators and its currency code."""
    return f"{quantize(amount, currency):,} {currency}"


def money_field(**kwargs):
    """Return a model field for an amount of money (its currency lives beside it)."""
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)
