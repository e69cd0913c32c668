"""Pydantic models of the QuickBooks Online JSON arbridge reads.

Field names are the v3 XSD's (../shared/specs/qbo/Finance.xsd), mapped to JSON
as QuickBooks does: elements become keys, a *Ref becomes {"value", "name"}.
Unknown fields are ignored, since QuickBooks adds them freely. Amounts arrive
as JSON numbers, which the client parses as Decimal (never float), so these
models see Decimals and keep them. Class names differ from the field names
that hold them (`Metadata` in `MetaData`) because pydantic cannot tell a field
from its type when both have one name.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class QBModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ref(QBModel):
    value: str
    name: str = ""


class Metadata(QBModel):
    CreateTime: dt.datetime | None = None
    LastUpdatedTime: dt.datetime | None = None


class EmailAddress(QBModel):
    Address: str = ""


class TelephoneNumber(QBModel):
    FreeFormNumber: str = ""


class PhysicalAddress(QBModel):
    City: str = ""
    Country: str = ""
    CountrySubDivisionCode: str = ""
    PostalCode: str = ""


class Entity(QBModel):
    Id: str
    SyncToken: str = ""
    MetaData: Metadata = Field(default_factory=Metadata)


class Customer(Entity):
    DisplayName: str = ""
    CompanyName: str = ""
    Active: bool = True
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: TelephoneNumber | None = None
    BillAddr: PhysicalAddress | None = None


class SalesItemDetail(QBModel):
    ItemRef: Ref | None = None
    UnitPrice: Decimal | None = None
    Qty: Decimal | None = None


class DiscountDetail(QBModel):
    PercentBased: bool = False
    DiscountPercent: Decimal | None = None


class GroupDetail(QBModel):
    GroupItemRef: Ref | None = None
    Quantity: Decimal | None = None
    Line: list[SalesLine] = Field(default_factory=list)


class SalesLine(QBModel):
    """An invoice line; which detail it carries is named by DetailType."""

    Description: str = ""
    Amount: Decimal = Decimal(0)
    DetailType: str = ""
    SalesItemLineDetail: SalesItemDetail | None = None
    DiscountLineDetail: DiscountDetail | None = None
    GroupLineDetail: GroupDetail | None = None


class TaxDetail(QBModel):
    TotalTax: Decimal = Decimal(0)


class Invoice(Entity):
    DocNumber: str = ""
    TxnDate: dt.date
    DueDate: dt.date | None = None
    CurrencyRef: Ref | None = None
    CustomerRef: Ref | None = None
    SalesTermRef: Ref | None = None
    PrivateNote: str = ""
    CustomerMemo: Ref | str | None = None  # a MemoRef: {"value": text}
    Line: list[SalesLine] = Field(default_factory=list)
    TxnTaxDetail: TaxDetail | None = None
    TotalAmt: Decimal
    Balance: Decimal


class TxnLink(QBModel):
    TxnId: str
    TxnType: str
    TxnLineId: str | None = None


class PaymentLine(QBModel):
    Amount: Decimal
    LinkedTxn: list[TxnLink] = Field(default_factory=list)


class Payment(Entity):
    TxnDate: dt.date
    TotalAmt: Decimal
    UnappliedAmt: Decimal | None = None
    CurrencyRef: Ref | None = None
    CustomerRef: Ref | None = None
    PaymentRefNum: str = ""
    PaymentMethodRef: Ref | None = None
    PrivateNote: str = ""
    Line: list[PaymentLine] = Field(default_factory=list)


class Term(Entity):
    Name: str
    DueDays: int | None = None
    Active: bool = True


class Account(Entity):
    Name: str
    AccountType: str = ""
    AccountSubType: str = ""
    Active: bool = True


class FaultError(QBModel):
    Message: str = ""
    Detail: str = ""
    code: str = ""


class Fault(QBModel):
    Error: list[FaultError] = Field(default_factory=list)
    type: str = ""
