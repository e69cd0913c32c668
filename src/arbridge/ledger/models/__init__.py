"""The canonical accounts-receivable model, and the one place its invariants live.

An invoice's balance is derived, never set:

    balance = total - succeeded allocations - credits - source adjustment

The source adjustment is what the source system settled by means arbridge has
no record of (a payment or credit entered there that the connector cannot see
as such). The source reports a balance; arbridge subtracts from the source's
settled amount (total - reported balance) the money both sides know of: the
external payments and credits that came from the source, and arbridge's own
payments that had succeeded when the source last reported a changed balance
(`arbridge_paid_in_source`, since a payment taken here reaches the source only
when it is written back). What is left, clamped so that 0 <= balance <= total,
is the adjustment. So a payment taken here lowers the balance at once, a
source's own payment arriving after the balance it already lowered changes
nothing, and external payments, credits and reported balances give the same
result in whatever order they arrive.

Money applied to an invoice never exceeds its total: succeeded and pending
payments plus credits (`Settlement.committed`) <= total. Pending payments (ACH
in flight) hold their amount: `payable` is what may still be paid.

Every change goes through a method here, inside a transaction that locks the
rows it reads (payment first, then invoices in id order); a refused change
raises LedgerError and leaves nothing behind. A plain save() of an existing
invoice or payment never writes the ledger's fields, so a stale copy cannot
undo a payment, and refuses if the caller changed one.
"""

from arbridge.ledger.models.credits import Credit
from arbridge.ledger.models.customers import Contact, Customer
from arbridge.ledger.models.deposits import Deposit, DepositLine
from arbridge.ledger.models.disputes import Dispute
from arbridge.ledger.models.guarded import Guarded, LedgerError
from arbridge.ledger.models.invoices import DERIVED, NOTHING, Invoice, InvoiceLine, Settlement
from arbridge.ledger.models.payments import Payment, PaymentAllocation
from arbridge.ledger.models.states import PaymentOrigin, PaymentStatus

__all__ = [
    "DERIVED",
    "NOTHING",
    "Contact",
    "Credit",
    "Customer",
    "Deposit",
    "DepositLine",
    "Dispute",
    "Guarded",
    "Invoice",
    "InvoiceLine",
    "LedgerError",
    "Payment",
    "PaymentAllocation",
    "PaymentOrigin",
    "PaymentStatus",
    "Settlement",
]
