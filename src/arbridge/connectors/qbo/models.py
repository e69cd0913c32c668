"""Pydantic models of the QuickBooks Online JSON arbridge reads.

Field names are the v3 XSD's (../shared/specs/qbo/Finance.xsd); unknown fields
are ignored, since QuickBooks adds them freely. Amounts arrive as JSON numbers
and are parsed as Decimal by the client (json.loads(parse_float=Decimal)).
"""

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class QBModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Ref(QBModel):
    value: str
    name: str = ""


class MetaData(QBModel):
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
    SyncToken: str = "0"
    MetaData: MetaData = Field(default_factory=MetaData)
    status: str = ""  # "Deleted" in CDC and delete responses

    @property
    def is_deleted(self) -> bool:
        return self.status == "Deleted"


class Customer(Entity):
    DisplayName: str = ""
    CompanyName: str = ""
    Active: bool = True
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: TelephoneNumber | None = None
    BillAddr: PhysicalAddress | None = None


class SalesItemLineDetail(QBModel):
    ItemRef: Ref | None = None
    UnitPrice: Decimal | None = None
    Qty: Decimal | None = None


class Line(QBModel):
    Id: str | None = None
    LineNum: int | None = None
    Description: str = ""
    Amount: Decimal = Decimal(0)
    DetailType: str = ""
    SalesItemLineDetail: SalesItemLineDetail | None = None


class LinkedTxn(QBModel):
    TxnId: str
    TxnType: str
    TxnLineId: str | None = None


class Invoice(Entity):
    DocNumber: str | None = None
    TxnDate: dt.date
    DueDate: dt.date | None = None
    CurrencyRef: Ref | None = None
    CustomerRef: Ref | None = None
    SalesTermRef: Ref | None = None
    PrivateNote: str = ""
    CustomerMemo: Ref | str | None = None
    Line: list[Line] = Field(default_factory=list)
    TotalAmt: Decimal
    Balance: Decimal


class PaymentLine(QBModel):
    Amount: Decimal
    LinkedTxn: list[LinkedTxn] = Field(default_factory=list)


class PaymentMethodRef(Ref):
    pass


class Payment(Entity):
    TxnDate: dt.date
    TotalAmt: Decimal
    UnappliedAmt: Decimal | None = None
    CurrencyRef: Ref | None = None
    CustomerRef: Ref | None = None
    PaymentRefNum: str = ""
    PaymentMethodRef: PaymentMethodRef | None = None
    PrivateNote: str = ""
    Line: list[PaymentLine] = Field(default_factory=list)


class CreditMemo(Entity):
    DocNumber: str | None = None
    TxnDate: dt.date
    TotalAmt: Decimal
    RemainingCredit: Decimal | None = None
    CustomerRef: Ref | None = None
    CurrencyRef: Ref | None = None


class Term(Entity):
    Name: str
    DueDays: int | None = None
    Active: bool = True


class Account(Entity):
    Name: str
    AccountType: str = ""
    AccountSubType: str = ""
    Active: bool = True
