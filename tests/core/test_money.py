from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbridge.core.money import format_money, quantize

D = Decimal


def test_it_refuses_a_float():
    with pytest.raises(TypeError, match="float"):
        quantize(0.1)


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("2.005", "2.01"),
        ("2.0049", "2.00"),
        ("-2.005", "-2.01"),
        ("0.995", "1.00"),
        ("7", "7.00"),
        (7, "7.00"),
        ("1E+2", "100.00"),
    ],
)
def test_it_rounds_half_up_to_cents(amount, expected):
    result = quantize(amount)
    assert result == D(expected)
    assert str(result) == expected


def test_it_rounds_to_the_currencys_minor_unit():
    assert str(quantize(D("1234.5"), "JPY")) == "1235"
    assert str(quantize(D("1234.5"), "jpy")) == "1235"
    assert str(quantize(D("1234.5"), "EUR")) == "1234.50"


@given(st.integers(-(10**12), 10**12))
def test_rounding_thousandths_matches_integer_arithmetic(thousandths):
    cents, rest = divmod(abs(thousandths), 10)
    cents += rest >= 5
    expected = D(cents if thousandths >= 0 else -cents).scaleb(-2)

    assert quantize(D(thousandths).scaleb(-3)) == expected


def test_format_money_groups_thousands():
    assert format_money(D("1234567.891"), "USD") == "1,234,567.89 USD"
