"""What a partner chooses for a Zoho Books connection: its plan, and where money is recorded.

# Reference: https://www.zoho.com/books/api/v3/introduction/#api-call-limit
# Reference: https://www.zoho.com/books/api/v3/chart-of-accounts/
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from arbridge.connectors.base import Preferences, account_field

Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate"]


class ZohoBooksPreferences(Preferences):
    """The organization's plan (its daily API allowance), where payments and payouts go."""

    plan: Plan = Field(
        "standard",
        title="Zoho Books plan",
        description="Zoho allows each plan a number of API calls a day (Standard 2,000, "
        "Professional 5,000, Premium and above 10,000); arbridge keeps within it.",
    )
    payment_account_id: str | None = Field(
        None,
        title="Record payments into",
        description='The account payments taken in arbridge wait in, e.g. "Undeposited '
        "Funds\"; Zoho's default when none is chosen.",
        json_schema_extra=account_field(
            ["bank", "cash", "other_current_asset"],
            needed_by="create_deposits",
            missing="Choose the account payments wait in until their payout.",
        ),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a transfer from that account to the bank "
        "account, its fees as an expense and its surcharges as income. Off by default.",
    )
    deposit_account_id: str | None = Field(
        None,
        title="Bank account for deposits",
        description="We recommend the bank account connected to arbridge for payouts.",
        json_schema_extra=account_field(
            ["bank"], needed_by="create_deposits", missing="Choose the bank account."
        ),
    )
    fee_account_id: str | None = Field(
        None,
        title="Processing fee account",
        json_schema_extra=account_field(
            ["expense", "other_expense"],
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    surcharge_income_account_id: str | None = Field(
        None,
        title="Surcharge income account",
        json_schema_extra=account_field(["income", "other_income"]),
    )
