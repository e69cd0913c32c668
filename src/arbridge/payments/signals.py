"""What the payments app tells the rest of arbridge, without knowing who listens."""

from django.dispatch import Signal

# A checkout was paid, or its ACH debit started: sent once the transaction
# commits, with `checkout_id`. The portal emails the receipt.
checkout_paid = Signal()
