"""Pydantic models of the Halo API JSON arbridge reads.

Field names and types are the v2 spec's (../shared/specs/halopsa/
halo-api-v2-subset.json): Area for a client, Users, InvoiceHeader and
InvoiceDetail.
Halo makes nearly every field nullable, so most are optional here; unknown
fields are ignored. Amounts are parsed as Decimal by the client
(json.loads(parse_float=Decimal)). Halo writes times in UTC without an
offset; `utc` gives them one.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Return a Halo time as an aware UTC datetime."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


Time = Annotated[dt.datetime | None, AfterValidator(utc)]


class HaloModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Client(HaloModel):
    """An Area: one of the MSP's customers."""

    id: int
    name: str
    inactive: bool | None = None
    accountsemailaddress: str | None = None
    main_phonenumber: str | None = None
    alastupdate: Time = None


class User(HaloModel):
    """A client's contact (Users)."""

    id: int
    name: str | None = None
    emailaddress: str | None = None
    phonenumber: str | None = None
    client_id: int | None = None
    inactive: bool | None = None
    # "Send accounts emails to this user": Halo's mark of a billing contact.
    sendaccountsemails: bool | None = None
    ulastupdate: Time = None

    @property
    def is_billing(self) -> bool:
        return bool(self.sendaccountsemails) and not self.inactive and bool(self.client_id)


class InvoiceLine(HaloModel):
    """An InvoiceDetail."""

    id: int | None = None
    item_code: str | None = None
    item_shortdescription: str | None = None
    item_longdescription: str | None = None
    qty_order: Decimal | None = None
    unit_price: Decimal | None = None
    net_amount: Decimal | None = None
    tax_amount: Decimal | None = None


class Invoice(HaloModel):
    """An InvoiceHeader."""

    id: int
    invoicenumber: str | None = None
    thirdpartyinvoicenumber: str | None = None
    client_id: int | None = None
    contract_id: int | None = None
    invoice_date: Time = None
    duedate: Time = None
    currency_code_name: str | None = None
    notes_1: str | None = None
    qbo_term_name: str | None = None
    total: Decimal
    amount_remaining: Decimal | None = None
    amountdue: Decimal | None = None
    amountpaid: Decimal | None = None
    voided: bool | None = None
    last_modified: Time = None
    lines: list[InvoiceLine] | None = None
