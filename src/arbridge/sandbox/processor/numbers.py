"""The sandbox processor's test cards and bank accounts, and what each one does.

Only these numbers are accepted, as Stripe's test mode accepts only its test
cards, so nobody types a real card into a demo. The card numbers are Stripe's
(https://docs.stripe.com/testing); any future expiry, any 3-digit CVC and any
5-digit ZIP.

| card number      | brand      | funding | what happens                                          |
| ---------------- | ---------- | ------- | ----------------------------------------------------- |
| 4242424242424242 | visa       | credit  | succeeds                                              |
| 5555555555554444 | mastercard | credit  | succeeds                                              |
| 4000056655665556 | visa       | debit   | succeeds                                              |
| 5105105105105100 | mastercard | prepaid | succeeds                                              |
| 4000000000009979 | visa       | credit  | hard decline: stolen_card                             |
| 4000000000000002 | visa       | credit  | hard decline: generic_decline (do not honour)         |
| 4000000000009995 | visa       | credit  | soft decline: insufficient_funds                      |
| 4000002500003155 | visa       | credit  | requires authentication; once saved, off-session      |
|                  |            |         | charges succeed                                       |
| 4000002760003184 | visa       | credit  | always requires authentication; off-session charges   |
|                  |            |         | soft-decline with authentication_required             |
| 4000000000000341 | visa       | credit  | saves, but every charge hard-declines generic_decline |
| 4000000000000119 | visa       | credit  | soft decline: issuer_not_available                    |
| 4000000000000069 | visa       | credit  | saves, but every charge declines expired_card         |
| 5100000000009995 | mastercard | credit  | soft decline: insufficient_funds                      |
| 5100000000000101 | mastercard | credit  | declines do_not_honor, advice code 01 (update card)   |
| 5100000000000103 | mastercard | credit  | declines do_not_honor, advice code 03 (never retry)   |
| 5100000000000121 | mastercard | credit  | declines do_not_honor, advice code 21 (never retry)   |

Bank accounts: routing number 110000000 (Stripe's test routing number), any
holder name, the mandate accepted. Settlement and returns are counted in
business days (Monday to Friday; holidays are not modelled). A return comes
back 2 banking days after settlement (DOMAIN.md, ACH: R01-R04 within 2
banking days; the sandbox uses 2 for R10 and R29 too, to keep tests short).

| account number | what happens                                                      |
| -------------- | ----------------------------------------------------------------- |
| 000123456789   | settles after the account's ACH settlement days (default 2)       |
| 000444444444   | settles after 4 business days (ACH's longest, DOMAIN.md)          |
| 000222222201   | fails before settlement, R01, 1 business day after it starts      |
| 000111111101   | settles, then returns R01 (insufficient funds)                    |
| 000111111102   | settles, then returns R02 (account closed)                        |
| 000111111103   | settles, then returns R03 (no account / unable to locate account) |
| 000111111109   | settles, then returns R09 (uncollected funds)                     |
| 000111111110   | settles, then returns R10 (customer advises not authorized)       |
| 000111111129   | settles, then returns R29 (corporate customer advises not         |
|                |   authorized)                                                     |
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass


class Invalid(ValueError):
    """A card or bank account the sandbox refuses; the message is for the person typing it."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class TestCard:
    brand: str
    funding: str
    behaviour: str = "succeed"  # or a decline code, "authenticate", "authenticate_always",
    # "decline_charges"


@dataclass(frozen=True)
class TestBankAccount:
    settlement_days: int | None = None  # None: the account's configured days
    return_code: str = ""
    returns_before_settlement: bool = False


CARDS = {
    "4242424242424242": TestCard("visa", "credit"),
    "5555555555554444": TestCard("mastercard", "credit"),
    "4000056655665556": TestCard("visa", "debit"),
    "5105105105105100": TestCard("mastercard", "prepaid"),
    "4000000000009979": TestCard("visa", "credit", "stolen_card"),
    "4000000000000002": TestCard("visa", "credit", "generic_decline"),
    "4000000000009995": TestCard("visa", "credit", "insufficient_funds"),
    "4000002500003155": TestCard("visa", "credit", "authenticate"),
    "4000002760003184": TestCard("visa", "credit", "authenticate_always"),
    "4000000000000341": TestCard("visa", "credit", "decline_charges"),
    "4000000000000119": TestCard("visa", "credit", "issuer_not_available"),
    "4000000000000069": TestCard("visa", "credit", "expired_card"),
    "5100000000009995": TestCard("mastercard", "credit", "insufficient_funds"),
    "5100000000000101": TestCard("mastercard", "credit", "mac_01"),
    "5100000000000103": TestCard("mastercard", "credit", "mac_03"),
    "5100000000000121": TestCard("mastercard", "credit", "mac_21"),
}

TEST_ROUTING_NUMBER = "110000000"
BANK_ACCOUNTS = {
    "000123456789": TestBankAccount(),
    "000444444444": TestBankAccount(settlement_days=4),
    "000222222201": TestBankAccount(
        settlement_days=1, return_code="R01", returns_before_settlement=True
    ),
    "000111111101": TestBankAccount(return_code="R01"),
    "000111111102": TestBankAccount(return_code="R02"),
    "000111111103": TestBankAccount(return_code="R03"),
    "000111111109": TestBankAccount(return_code="R09"),
    "000111111110": TestBankAccount(return_code="R10"),
    "000111111129": TestBankAccount(return_code="R29"),
}
RETURN_DAYS = 2

# Decline code -> (hard or soft, what the customer is told).
DECLINES = {
    "stolen_card": ("hard", "Your card was declined."),
    "generic_decline": ("hard", "Your card was declined."),
    "insufficient_funds": ("soft", "Your card has insufficient funds."),
    "authentication_required": (
        "soft",
        "Your card needs authentication; pay once with the card in the portal.",
    ),
    "issuer_not_available": ("soft", "Your card's bank could not be reached; try again later."),
    "do_not_honor": ("hard", "Your card was declined."),
    "expired_card": ("hard", "Your card has expired."),
}
# Mastercard's merchant advice codes, sent beside a decline (DOMAIN.md, Retries):
# behaviour -> (decline code, advice code).
ADVICE = {
    "mac_01": ("do_not_honor", "01"),  # new account information available: update the card
    "mac_03": ("do_not_honor", "03"),  # do not try again
    "mac_21": ("do_not_honor", "21"),  # payment cancelled: do not try again
}
RETURN_REASONS = {
    "R01": "Insufficient funds",
    "R02": "Account closed",
    "R03": "No account / unable to locate account",
    "R09": "Uncollected funds",
    "R10": "Customer advises not authorized",
    "R29": "Corporate customer advises not authorized",
}

EXPIRY = re.compile(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})")


def digits(text: str) -> str:
    """Return a number as typed without the spaces and dashes people put in it."""
    return re.sub(r"[\s-]", "", text or "")


def card(number: str, expiry: str, cvc: str, postal_code: str, today: dt.date) -> TestCard:
    """Return the test card a form describes; raise Invalid with what to correct."""
    found = CARDS.get(digits(number))
    if found is None:
        raise Invalid("Use a test card, such as 4242 4242 4242 4242.", "number")
    match = EXPIRY.fullmatch((expiry or "").strip())
    if not match or not 1 <= int(match[1]) <= 12:
        raise Invalid("Enter the expiry as MM/YY.", "expiry")
    year = int(match[2]) % 100 + 2000
    if (year, int(match[1])) < (today.year, today.month):
        raise Invalid("The card has expired.", "expiry")
    if not re.fullmatch(r"\d{3}", (cvc or "").strip()):
        raise Invalid("Enter the 3-digit security code.", "cvc")
    if not re.fullmatch(r"\d{5}", (postal_code or "").strip()):
        raise Invalid("Enter the 5-digit ZIP code.", "postal_code")
    return found


def bank_account(
    routing_number: str, account_number: str, holder_name: str, mandate: bool
) -> TestBankAccount:
    """Return the test bank account a form describes; raise Invalid with what to correct."""
    if digits(routing_number) != TEST_ROUTING_NUMBER:
        raise Invalid(f"Use the test routing number {TEST_ROUTING_NUMBER}.", "routing_number")
    found = BANK_ACCOUNTS.get(digits(account_number))
    if found is None:
        raise Invalid("Use a test account number, such as 000123456789.", "account_number")
    if not (holder_name or "").strip():
        raise Invalid("Enter the account holder's name.", "account_holder_name")
    if not mandate:
        raise Invalid("Authorize the debit to continue.", "mandate")
    return found
