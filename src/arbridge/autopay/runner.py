"""The auto pay runner: charge what is due, once, and follow up declines.

One run, for each partner with auto pay on (`run`):

1. Follow up what the processor has said since: an ACH debit that settled
   (receipt) or came back (the retry policy decides), a charge interrupted
   mid-way (asked again with the same key).
2. Select in bulk the open invoices of actively enrolled customers (the pilot's
   only, when the pilot is on), their attempts so far, and those to leave
   alone: an ACH payment pending, an open Unmatched or conflict exception.
   Each left is charged when the first rule that matches it says, computed now
   from the rules as they are (a rule change reaches open invoices), or
   retried when its last decline's retry falls due. A charge day in the past
   (the runner was down) is charged once: attempt 1 exists once.
3. Re-read the due invoices from their source, a page at a time just before
   charging them, through the connector's `fetch` and the sync engine (a
   payment made meanwhile in the source lowers the balance).
4. Charge each (`charge`) in two short transactions around the processor call:
   the first holds the open balance with a pending ledger payment (the ledger
   locks the invoice and refuses more than it may still take) and inserts the
   Attempt row for (invoice, number), whose unique constraint lets a second
   runner charge nothing; the second applies the result (paid and written
   back, pending, or declined and the next step).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db import connection as database
from django.db.models import Q, Sum
from django.utils import timezone

from arbridge.autopay import retry, tasks
from arbridge.autopay.models import (
    Attempt,
    AutopaySettings,
    Enrollment,
    Notice,
    Rule,
    Step,
    first_match,
)
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.core.money import ZERO, quantize
from arbridge.integrations import writeback
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import ExceptionItem, ExternalRef
from arbridge.integrations.sync import apply_changes
from arbridge.ledger.models import Dispute, Invoice, LedgerError, Payment, PaymentAllocation
from arbridge.payments import base
from arbridge.payments.models import PaymentSettings
from arbridge.payments.services import processor_for

logger = logging.getLogger(__name__)

OPEN = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
# Exceptions about an invoice that keep auto pay away until a person resolves them.
HOLDING = (ExceptionItem.Kind.UNMATCHED, ExceptionItem.Kind.CONFLICT)
# An attempt still processing this long after it began was interrupted: ask again.
RECOVER_AFTER = dt.timedelta(minutes=1)
REREAD_PAGE = 50
# Seconds to wait before asking the processor again within a run (429s, timeouts).
ASK_AGAIN_AFTER = (0.1, 0.5, 1.0, 2.0)
Status = Attempt.Status


@dataclass
class Report:
    charged: int = 0
    succeeded: int = 0
    pending: int = 0
    failed: int = 0
    skipped: int = 0
    reminded: int = 0
    lost_races: int = 0  # due invoices another runner was already charging
    suspended: int = 0  # enrollments whose method was removed
    notices: list[tuple[str, int]] = field(default_factory=list)
    to_notify: list[int] = field(default_factory=list)  # attempts whose notice is not queued yet

    def add(self, other: Report) -> None:
        """Count another (a thread's) report's work in this one."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Due:
    invoice: Invoice
    enrollment: Enrollment
    number: int
    rule: Rule | None


def run(now: dt.datetime | None = None, partner_id: int | None = None) -> Report:
    """Charge everything due now; return what was done."""
    now = now or clock.now()
    report = Report()
    partners = AutopaySettings.objects.filter(enabled=True)
    if partner_id is not None:
        partners = partners.filter(partner_id=partner_id)
    for settings in partners:
        run_partner(settings, now, report)
    return report


def run_partner(settings: AutopaySettings, now: dt.datetime, report: Report) -> None:
    payment_settings = PaymentSettings.of(settings.partner_id)
    processor = processor_for(payment_settings)
    suspend_lapsed(settings, now, report)
    follow_up(settings, processor, now, report)
    send_notices(report)
    due = due_invoices(settings, now, report)
    for start in range(0, len(due), REREAD_PAGE):
        page = due[start : start + REREAD_PAGE]
        reread(settings.partner_id, [d.invoice for d in page])
        # Re-reading may have brought a payment or an Unmatched exception: look again.
        held = held_back(settings.partner_id, [d.invoice.pk for d in page])
        page = [d for d in page if d.invoice.pk not in held]
        charge_all(fresh(page), settings, payment_settings, processor, now, report)
        send_notices(report)


def charge_all(
    items: list[Due],
    settings: AutopaySettings,
    payment_settings: PaymentSettings,
    processor: base.Processor,
    now: dt.datetime,
    report: Report,
) -> None:
    """Charge a page, in AUTOPAY_CHARGE_THREADS threads: one's database work overlaps
    another's wait on the processor. Each thread has its own database connection."""
    threads = min(django_settings.AUTOPAY_CHARGE_THREADS, len(items))
    if threads <= 1:
        for item in items:
            charge(item, settings, payment_settings, processor, now, report)
        return

    def work(share: list[Due], part: Report) -> None:
        try:
            for item in share:
                charge(item, settings, payment_settings, processor, now, part)
        finally:
            database.close()  # this thread's own

    parts = [Report() for _ in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [items[n::threads] for n in range(threads)], parts))
    for part in parts:
        report.add(part)


def fresh(page: list[Due]) -> list[Due]:
    """Return the page with its invoices as the database holds them now, pending sums read.

    Read in two queries for the page; `charge` needs no lock to read them, as
    the ledger refuses an allocation beyond what the invoice may still take.
    """
    ids = [d.invoice.pk for d in page]
    invoices = Invoice.objects.in_bulk(ids)
    pending = dict(
        PaymentAllocation.objects.filter(invoice_id__in=ids, payment__status=Payment.Status.PENDING)
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    found = []
    for item in page:
        if (invoice := invoices.get(item.invoice.pk)) is not None:
            invoice.reread_failed = getattr(item.invoice, "reread_failed", None)
            invoice.pending = quantize(pending.get(invoice.pk) or ZERO, invoice.currency)
            found.append(dataclasses.replace(item, invoice=invoice))
    return found


def suspend_lapsed(settings: AutopaySettings, now: dt.datetime, report: Report) -> None:
    """Suspend the enrollments whose method was removed, and tell the customer and the partner.

    A card that expired is found by its charge's decline (expired_card), which
    suspends the enrollment as the retry policy says (autopay/retry.py).
    """
    lapsed = (
        Enrollment.objects.for_partner(settings.partner_id)
        .filter(status=Enrollment.Status.ACTIVE)
        .filter(Q(method__isnull=True) | Q(method__removed_at__isnull=False))
    )
    for enrollment in lapsed:
        with transaction.atomic():
            enrollment.suspend("The payment method was removed.")
            transaction.on_commit(lambda pk=enrollment.pk: tasks.send_suspended_notice(pk))
        report.suspended += 1


# -- what is due --------------------------------------------------------------------


def active_enrollments(settings: AutopaySettings) -> dict[int, Enrollment]:
    enrollments = Enrollment.objects.for_partner(settings.partner_id).filter(
        status=Enrollment.Status.ACTIVE, method__isnull=False, method__removed_at__isnull=True
    )
    if settings.pilot:
        enrollments = enrollments.filter(pilot=True)
    return {e.customer_id: e for e in enrollments.select_related("method")}


def due_invoices(settings: AutopaySettings, now: dt.datetime, report: Report) -> list[Due]:
    """Return the invoices to charge now, selected in a handful of queries."""
    today = timezone.localdate(now)
    enrollments = active_enrollments(settings)
    if not enrollments:
        return []
    rules = list(Rule.objects.for_partner(settings.partner_id).filter(active=True))
    invoices = list(
        Invoice.objects.for_partner(settings.partner_id)
        .filter(status__in=OPEN, archived=False, balance__gt=0)
        .filter(customer_id__in=list(enrollments))
        .order_by("due_date", "id")
    )
    ids = [invoice.pk for invoice in invoices]
    latest: dict[int, Attempt] = {}
    for chunk in chunks(ids):
        for attempt in Attempt.objects.filter(invoice_id__in=chunk).order_by("number"):
            latest[attempt.invoice_id] = attempt
    held = held_back(settings.partner_id, ids)
    due = []
    for invoice in invoices:
        if invoice.pk in held:
            continue
        enrollment = enrollments[invoice.customer_id]
        last = latest.get(invoice.pk)
        if last is not None:
            if (
                last.status == Status.FAILED
                and last.next_step == Step.RETRY
                and last.next_attempt_at
                and last.next_attempt_at <= now
            ):
                due.append(Due(invoice, enrollment, last.number + 1, None))
            continue
        rule = first_match(rules, invoice)
        if rule is None:
            continue
        charge_on = rule.charge_date(invoice)
        if charge_on <= today:
            due.append(Due(invoice, enrollment, 1, rule))
        elif charge_on - dt.timedelta(days=settings.lead_days) <= today:
            announce(invoice, charge_on, Notice.Kind.UPCOMING, report)
    return due


def held_back(partner_id: int, ids: list[int]) -> set[int]:
    """Return the invoices among `ids` auto pay leaves alone until a person or the bank acts.

    An ACH (or other) payment pending on it, an open Unmatched or conflict
    exception about it, or an open dispute of it by the customer.
    """
    held: set[int] = set()
    for chunk in chunks(ids):
        held.update(
            PaymentAllocation.objects.filter(
                partner_id=partner_id, invoice_id__in=chunk, payment__status=Payment.Status.PENDING
            ).values_list("invoice_id", flat=True)
        )
        held.update(
            ExceptionItem.objects.for_partner(partner_id)
            .filter(status=ExceptionItem.Status.OPEN, kind__in=HOLDING, entity="invoice")
            .filter(local_id__in=chunk)
            .values_list("local_id", flat=True)
        )
        held.update(
            Dispute.objects.for_partner(partner_id)
            .filter(resolved_at__isnull=True, invoice_id__in=chunk)
            .values_list("invoice_id", flat=True)
        )
    return held


def chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    """Split ids to stay within SQLite's parameter limit."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def announce(invoice: Invoice, charge_on: dt.date, kind: str, report: Report) -> None:
    """Tell the customer once of a charge coming up (or to pay one over the cap)."""
    _, created = Notice.objects.get_or_create(
        partner_id=invoice.partner_id, invoice=invoice, kind=kind, charge_on=charge_on
    )
    if created:
        report.notices.append((kind, invoice.pk))
        transaction.on_commit(lambda: tasks.send_notice(kind, invoice.pk, charge_on.isoformat()))


def reread(partner_id: int, invoices: list[Invoice]) -> None:
    """Read the invoices again from their sources and apply what changed, before charging."""
    by_connection: dict[int, list[str]] = defaultdict(list)
    refs = ExternalRef.objects.filter(
        entity=ExternalRef.Entity.INVOICE,
        local_id__in=[i.pk for i in invoices if i.connection_id],
        connection__partner_id=partner_id,
    ).values_list("connection_id", "local_id", "remote_id")
    sources = {i.pk: i.connection_id for i in invoices}
    for connection_id, local_id, remote_id in refs:
        if sources.get(local_id) == connection_id:
            by_connection[connection_id].append(remote_id)
    if not by_connection:
        return
    for connection in Connection.objects.filter(pk__in=list(by_connection)):
        try:
            with http_client() as http:
                connector = build_connector(connection, http)
                changes = list(connector.fetch("invoice", by_connection[connection.pk]))
            apply_changes(connection, changes, connector.capabilities)
        except Exception:
            # Charging a balance that may be stale is what re-reading prevents:
            # these invoices wait for the next run.
            logger.exception("Re-reading invoices from connection %s failed", connection.pk)
            unread = set(by_connection[connection.pk])
            for invoice in invoices:
                if invoice.connection_id == connection.pk:
                    invoice.reread_failed = unread


# -- one charge ---------------------------------------------------------------------


def charge(
    item: Due,
    settings: AutopaySettings,
    payment_settings: PaymentSettings,
    processor: base.Processor,
    now: dt.datetime,
    report: Report,
) -> Attempt | None:
    """Charge one invoice's open balance once; None if another runner has it or it waits."""
    if getattr(item.invoice, "reread_failed", None):
        return None
    method = item.enrollment.method
    if item.number > 1 and method.kind == "card" and not may_retry(item, method, now):
        return None
    invoice = item.invoice
    pending = getattr(invoice, "pending", None)
    try:
        with transaction.atomic():
            amount = invoice.payable if pending is None else max(ZERO, invoice.balance - pending)
            # The attempt is inserted last, in its final state: its unique (invoice,
            # number) refuses a second runner, and the refusal undoes the payment too.
            attempt = Attempt(
                partner_id=invoice.partner_id,
                invoice=invoice,
                number=item.number,
                enrollment=item.enrollment,
                method=method,
                method_kind=method.kind,
                method_brand=method.brand,
                method_last4=method.last4,
                amount=max(amount, ZERO),
                currency=invoice.currency,
                created_at=now,
                updated_at=now,
            )
            if amount <= 0 or invoice.status not in OPEN:
                attempt.status, attempt.next_step = Status.SKIPPED, Step.NONE
                attempt.message = "Nothing left to pay when read again from the source."
                attempt.save(force_insert=True)
                report.skipped += 1
                return attempt
            if item.rule is not None and item.rule.is_over_cap(amount):
                attempt.status, attempt.next_step = Status.REMINDED, Step.REMIND
                attempt.message = f"Over the rule's cap of {item.rule.amount_cap}: reminded."
                attempt.save(force_insert=True)
                announce(invoice, timezone.localdate(now), Notice.Kind.OVER_CAP, report)
                report.reminded += 1
                return attempt
            payment = Payment.objects.create(
                partner_id=invoice.partner_id,
                customer_id=invoice.customer_id,
                amount=amount,
                currency=invoice.currency,
                method=Payment.Method.ACH if method.kind == "ach" else Payment.Method.CARD,
                reference=f"Auto pay {attempt.key}",
            )
            payment.allocate(invoice, amount)
            attempt.payment = payment
            attempt.save(force_insert=True)
    except IntegrityError:
        report.lost_races += 1  # another runner inserted this attempt first
        return None
    except LedgerError as error:
        # The invoice can no longer take the amount read: paid meanwhile, by another
        # runner or in the portal. The next run reads it again.
        logger.info("Auto pay left invoice %s for the next run: %s", invoice.pk, error)
        report.lost_races += 1
        return None
    report.charged += 1
    return ask(attempt, invoice, payment_settings, processor, settings, now, report)


def method_retries(method_id: int, now: dt.datetime) -> list[dt.datetime]:
    """Return when a saved method was retried (any invoice) in the last 30 days."""
    return list(
        Attempt.objects.filter(
            method_id=method_id, number__gt=1, created_at__gt=now - retry.MONTH
        ).values_list("created_at", flat=True)
    )


def may_retry(item: Due, method, now: dt.datetime) -> bool:
    """Return True if the card's network allows a retry now; else put the retry off or stop."""
    allowed = retry.within_limits(method.brand, method_retries(method.pk, now), now)
    if allowed == now:
        return True
    last = Attempt.objects.get(invoice_id=item.invoice.pk, number=item.number - 1)
    if allowed is None:
        last.next_step, last.next_attempt_at = Step.STOP, None
        last.message = f"{last.message[:400]} ({method.brand}'s limit of retries is reached)"
    else:
        last.next_attempt_at = allowed
    last.save(update_fields=["next_step", "next_attempt_at", "message"])
    return False


def ask(
    attempt: Attempt,
    invoice: Invoice,
    payment_settings: PaymentSettings,
    processor: base.Processor,
    settings: AutopaySettings,
    now: dt.datetime,
    report: Report,
) -> Attempt:
    """Ask the processor for an attempt's charge; asking again is the same charge."""
    method = attempt.method
    request = base.Charge(
        operation_id=attempt.key,
        amount=attempt.amount,
        currency=attempt.currency,
        method=method.token,
        description=f"Invoice {invoice.number} (auto pay)",
        metadata={"invoice": str(invoice.pk), "attempt": str(attempt.number)},
        processor_customer=method.processor_customer,
        off_session=True,
    )
    for pause in (*ASK_AGAIN_AFTER, None):
        try:
            result = processor.charge_saved(request)
            break
        except base.ProcessorError as e:
            if pause is None:
                # Left processing: the next run asks again with the same key.
                logger.warning("Auto pay charge %s could not be made: %s", attempt.key, e)
                return attempt
            time.sleep(pause)  # a rate limit or a blip: the same key makes asking again safe
    return settle(attempt, result, payment_settings, settings, now, report)


def settle(
    attempt: Attempt,
    result: base.PaymentResult,
    payment_settings: PaymentSettings,
    settings: AutopaySettings,
    now: dt.datetime,
    report: Report,
) -> Attempt:
    """Apply a charge's result to the attempt and its payment."""
    with transaction.atomic():
        payment = attempt.payment
        if result.reference:
            Payment.objects.filter(pk=payment.pk).update(processor_reference=result.reference)
            payment.processor_reference = result.reference
            attempt.processor_reference = result.reference
        attempt.updated_at = now
        if result.outcome == base.Outcome.SUCCEEDED:
            payment.set_status(Payment.Status.SUCCEEDED)
            writeback.payment_succeeded(payment)
            attempt.status, attempt.next_step = Status.SUCCEEDED, Step.NONE
            report.succeeded += 1
        elif result.outcome == base.Outcome.PENDING:
            if payment_settings.ach_writeback_at_initiation:
                writeback.payment_succeeded(payment, pending_ok=True)
            attempt.status, attempt.next_step = Status.PENDING, Step.WAIT
            report.pending += 1
        else:
            # A card that wants the customer present counts as a decline off-session.
            payment.set_status(Payment.Status.FAILED)
            decline(attempt, result.error_code, result.advice_code, result, settings, now)
            report.failed += 1
        attempt.save()
    if attempt.status in (Status.SUCCEEDED, Status.FAILED):
        report.to_notify.append(attempt.pk)
    return attempt


def send_notices(report: Report) -> None:
    """Queue the receipts and failure notices owed so far as one job (one write to the queue)."""
    if ids := report.to_notify[:]:
        report.to_notify.clear()
        transaction.on_commit(lambda: tasks.send_attempt_notices(ids))


def decline(
    attempt: Attempt,
    code: str,
    advice: str,
    result: base.PaymentResult | None,
    settings: AutopaySettings,
    now: dt.datetime,
) -> None:
    """Record a decline or return on the attempt, and what follows it."""
    failures = (
        Attempt.objects.filter(invoice_id=attempt.invoice_id, status=Status.FAILED)
        .exclude(pk=attempt.pk)
        .count()
        + 1
    )
    retried = method_retries(attempt.method_id, now) if attempt.method_id else []
    verdict = retry.decide(
        kind=attempt.method_kind,
        brand=attempt.method_brand,
        code=code,
        advice=advice,
        soft=bool(result and result.decline == base.Decline.SOFT),
        failures=failures,
        retries_of_method=retried,
        schedule=settings.retry_schedule,
        now=now,
    )
    attempt.status = Status.FAILED
    attempt.decline_code, attempt.advice_code = code[:40], advice[:4]
    reason = (result.error_message if result else "") or code
    attempt.message = f"{reason} ({verdict.reason})"[:500]
    attempt.next_step = verdict.step
    attempt.next_attempt_at = verdict.retry_at
    if verdict.step in (Step.UPDATE_METHOD, Step.REAUTHORIZE):
        Enrollment.objects.get(pk=attempt.enrollment_id).suspend(verdict.reason)


# -- following up -------------------------------------------------------------------


def follow_up(
    settings: AutopaySettings, processor: base.Processor, now: dt.datetime, report: Report
) -> None:
    """Settle ACH debits that settled or came back; ask again for interrupted charges."""
    mine = Attempt.objects.for_partner(settings.partner_id)
    settled = mine.filter(status=Status.PENDING, payment__status=Payment.Status.SUCCEEDED)
    for attempt in settled:
        attempt.status, attempt.next_step, attempt.updated_at = Status.SUCCEEDED, Step.NONE, now
        attempt.save(update_fields=["status", "next_step", "updated_at"])
        transaction.on_commit(lambda pk=attempt.pk: tasks.send_attempt_notice(pk))
        report.succeeded += 1
    returned = mine.filter(
        status__in=(Status.PENDING, Status.SUCCEEDED),
        payment__status__in=(Payment.Status.RETURNED, Payment.Status.FAILED),
    ).select_related("payment")
    for attempt in returned:
        try:
            result = processor.retrieve(attempt.processor_reference)
        except base.ProcessorError:
            continue
        with transaction.atomic():
            decline(attempt, result.error_code, result.advice_code, result, settings, now)
            attempt.updated_at = now
            attempt.save()
            transaction.on_commit(lambda pk=attempt.pk: tasks.send_attempt_notice(pk))
        report.failed += 1
    payment_settings = PaymentSettings.of(settings.partner_id)
    stuck = mine.filter(
        status=Status.PROCESSING, payment__isnull=False, updated_at__lt=now - RECOVER_AFTER
    ).select_related("invoice", "method", "payment")
    for attempt in stuck:
        ask(attempt, attempt.invoice, payment_settings, processor, settings, now, report)


# -- what the pages show ------------------------------------------------------------


@dataclass(frozen=True)
class Upcoming:
    invoice: Invoice
    enrollment: Enrollment
    charge_on: dt.date
    amount: object
    over_cap: bool
    retry: bool = False


def upcoming(partner_id: int, days: int = 30, now: dt.datetime | None = None) -> list[Upcoming]:
    """Return the charges auto pay will make in the next `days` days, soonest first."""
    now = now or clock.now()
    today = timezone.localdate(now)
    settings = AutopaySettings.of(partner_id)
    enrollments = active_enrollments(settings)
    rules = list(Rule.objects.for_partner(partner_id).filter(active=True))
    invoices = list(
        Invoice.objects.for_partner(partner_id)
        .filter(status__in=OPEN, archived=False, balance__gt=0)
        .filter(customer_id__in=list(enrollments))
        .select_related("customer")
    )
    held = held_back(partner_id, [invoice.pk for invoice in invoices])
    last_attempts: dict[int, Attempt] = {}
    for attempt in (
        Attempt.objects.for_partner(partner_id)
        .filter(Q(invoice__status__in=OPEN))
        .order_by("number")
    ):
        last_attempts[attempt.invoice_id] = attempt
    found = []
    horizon = today + dt.timedelta(days=days)
    for invoice in invoices:
        if invoice.pk in held:
            continue
        enrollment = enrollments[invoice.customer_id]
        last = last_attempts.get(invoice.pk)
        if last is not None:
            if last.next_step == Step.RETRY and last.next_attempt_at:
                on = timezone.localdate(last.next_attempt_at)
                if on <= horizon:
                    found.append(Upcoming(invoice, enrollment, on, invoice.payable, False, True))
            continue
        rule = first_match(rules, invoice)
        if rule is None:
            continue
        on = max(rule.charge_date(invoice), today)
        if on <= horizon:
            over = rule.is_over_cap(invoice.payable)
            found.append(Upcoming(invoice, enrollment, on, invoice.payable, over))
    return sorted(found, key=lambda u: (u.charge_on, u.invoice.pk))
