"""What a partner chooses for a NetSuite connection: its concurrency limit, where money goes.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156225409090.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1536245183.html
"""

from __future__ import annotations

from pydantic import Field

from arbridge.connectors.base import Preferences, account_field


class NetSuitePreferences(Preferences):
    """The account's concurrency limit, and the accounts payments and payouts go to."""

    concurrency_limit: int = Field(
        5,
        ge=1,
        le=55,
        title="Concurrency limit",
        description="NetSuite allows each account a number of requests at once (5 on a "
        "standard account, 10 more per SuiteCloud Plus licence; Setup > Integration > "
        "Integration Management > Integration Governance). arbridge keeps within it.",
    )
    payment_account_id: str | None = Field(
        None,
        title="Record payments into",
        description="Leave blank for Undeposited Funds, which a deposit draws from.",
        json_schema_extra=account_field(["Bank", "OthCurrAsset"]),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a deposit of its payments, the processing fee "
        "a cash back line. Off by default.",
    )
    deposit_account_id: str | None = Field(
        None,
        title="Bank account for deposits",
        json_schema_extra=account_field(
            ["Bank"], needed_by="create_deposits", missing="Choose the bank account."
        ),
    )
    fee_account_id: str | None = Field(
        None,
        title="Processing fee account",
        json_schema_extra=account_field(
            ["Expense", "OthExpense"],
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    surcharge_income_account_id: str | None = Field(
        None,
        title="Surcharge income account",
        json_schema_extra=account_field(["Income", "OthIncome"]),
    )
