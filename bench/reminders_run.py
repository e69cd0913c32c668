"""Time one day's reminder run over a large ledger, SMTP on loopback.

    .venv/bin/python bench/reminders_run.py --invoices 100000 [--due-today 20000]
        [--database-url postgres://postgres@127.0.0.1:5432/arb_bench_reminders]

A fresh arbridge (SQLite in a temporary data dir unless --database-url names
a fresh database) holds one partner whose customers have five open invoices
each: one falls on a step today (offsets cycle through the default
schedule), the others are five days late with their +3 reminder already
sent, so the run must read and pass over them. An aiosmtpd server in a child
process receives the mail and writes each Message-ID to a file. The run is
`collections.reminders.run` (plan, then send over one SMTP connection), run
twice: the second must send nothing. It prints one JSON line:
invoices_evaluated_per_s, emails_sent (received by the SMTP server),
duplicates (messages received beyond one per customer), run_seconds.
"""

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, free_port, log, peak_rss_mb  # noqa: E402

TODAY = dt.date(2026, 4, 15)
OFFSETS = (-3, 0, 3, 7, 14, 30)
INVOICES_PER_CUSTOMER = 5
BATCH = 5000
TARGET_SECONDS = 60


def serve_smtp(port: int, out: str) -> None:
    """Run an SMTP server that appends each message's Message-ID to `out`."""
    import email
    from email import policy

    from aiosmtpd.controller import Controller

    class Recorder:
        def __init__(self, file) -> None:
            self.file = file

        async def handle_DATA(self, server, session, envelope) -> str:
            headers = envelope.original_content.split(b"\r\n\r\n", 1)[0]
            message = email.message_from_bytes(headers, policy=policy.compat32)
            self.file.write(f"{message['Message-ID']} {','.join(envelope.rcpt_tos)}\n")
            self.file.flush()
            return "250 OK"

    with open(out, "a") as file:
        controller = Controller(Recorder(file), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        try:
            asyncio.run(asyncio.sleep(10**9))
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()


def load(invoices: int, due_today: int) -> int:
    """Fill the database; return the partner's id."""
    from arbridge.collections.models import Reminder, ReminderEmail, Sequence
    from arbridge.core.models import Partner
    from arbridge.ledger.models import Contact, Customer, Invoice

    customers = invoices // INVOICES_PER_CUSTOMER
    if due_today > customers:
        raise SystemExit("--due-today cannot exceed invoices / 5")
    partner = Partner.objects.create(name="Bench MSP", support_email="ar@bench.example")
    Sequence.default_for(partner)
    # Another partner's rows beside them: every query must pass them by.
    other = Partner.objects.create(name="Other MSP")
    other_customer = Customer.objects.create(partner=other, name="Not ours")
    Invoice.objects.create(
        partner=other,
        customer=other_customer,
        number="X-1",
        issue_date=TODAY,
        due_date=TODAY,
        total=Decimal("10.00"),
    )
    made = Customer.objects.bulk_create(
        (Customer(partner=partner, name=f"Customer {n:06}") for n in range(customers)),
        batch_size=BATCH,
    )
    Contact.objects.bulk_create(
        (
            Contact(
                partner=partner,
                customer=c,
                name="AP",
                email=f"ap{c.pk}@c.example",
                is_billing=True,
            )
            for c in made
        ),
        batch_size=BATCH,
    )
    two_days_ago = TODAY - dt.timedelta(days=2)
    earlier = ReminderEmail.objects.bulk_create(
        (
            ReminderEmail(
                partner=partner,
                customer=c,
                send_date=two_days_ago,
                status=ReminderEmail.Status.SENT,
                subject="Reminder",
            )
            for c in made
        ),
        batch_size=BATCH,
    )
    rows = []
    number = 0
    for i, customer in enumerate(made):
        for k in range(INVOICES_PER_CUSTOMER):
            number += 1
            if k == 0 and i < due_today:
                due = TODAY - dt.timedelta(days=OFFSETS[i % len(OFFSETS)])
            elif k == 0:
                due = TODAY + dt.timedelta(days=20)
            else:
                due = TODAY - dt.timedelta(days=5)
            total = Decimal(100 + number % 900) + Decimal("0.25")
            rows.append(
                Invoice(
                    partner=partner,
                    customer=customer,
                    number=f"INV-{number:07}",
                    issue_date=due - dt.timedelta(days=30),
                    due_date=due,
                    total=total,
                    balance=total,
                )
            )
        if len(rows) >= BATCH:
            Invoice.objects.bulk_create(rows)
            rows = []
    Invoice.objects.bulk_create(rows)
    late = Invoice.objects.filter(partner=partner, due_date=TODAY - dt.timedelta(days=5))
    by_customer = {e.customer_id: e.pk for e in earlier}
    sent = []
    for invoice_id, customer_id in late.values_list("id", "customer_id").iterator():
        sent.append(
            Reminder(
                partner=partner,
                invoice_id=invoice_id,
                offset_days=3,
                email_id=by_customer[customer_id],
            )
        )
        if len(sent) >= BATCH:
            Reminder.objects.bulk_create(sent)
            sent = []
    Reminder.objects.bulk_create(sent)
    return partner.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--due-today", type=int, default=20_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("smtp", nargs="?")
    parser.add_argument("--port", type=int)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.smtp == "smtp":
        serve_smtp(args.port, args.out)
        return

    import os

    data_dir = tempfile.mkdtemp(prefix="arb_bench_reminders_")
    received = Path(data_dir) / "received.txt"
    port = free_port()
    smtp = subprocess.Popen(
        [sys.executable, __file__, "smtp", "--port", str(port), "--out", str(received)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert smtp.stdout.readline().strip() == "ready"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    os.environ.clear()
    os.environ.update(env)
    os.environ.update(
        ARBRIDGE_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="arbridge.settings",
        ARBRIDGE_EMAIL_HOST="127.0.0.1",
        ARBRIDGE_EMAIL_PORT=str(port),
        ARBRIDGE_EMAIL_USE_TLS="False",
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(ROOT / "src"))
    import django
    import time_machine

    django.setup()
    from django.core.management import call_command

    from arbridge.collections import reminders

    try:
        call_command("migrate", verbosity=0, stdout=sys.stderr)
        started = time.perf_counter()
        with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)):
            partner_id = load(args.invoices, args.due_today)
            log("reminders_run", f"loaded in {time.perf_counter() - started:.1f}s")
            started = time.perf_counter()
            if os.getenv("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                result = profiler.runcall(reminders.run, partner_id, TODAY)
                profiler.dump_stats(os.environ["BENCH_PROFILE"])
            else:
                result = reminders.run(partner_id, TODAY)
            run_seconds = time.perf_counter() - started
            log("reminders_run", f"run: {result}")
            again = reminders.run(partner_id, TODAY)
    finally:
        time.sleep(0.5)  # the last DATA lines reach the file
        smtp.terminate()
        smtp.wait()
    lines = received.read_text().splitlines()
    ids = Counter(line.split()[0] for line in lines)
    recipients = Counter(line.split()[1] for line in lines)
    duplicates = sum(n - 1 for n in ids.values()) + sum(n - 1 for n in recipients.values())
    print(
        json.dumps(
            {
                "invoices": args.invoices,
                "invoices_evaluated_per_s": round(result.evaluated / run_seconds),
                "evaluated": result.evaluated,
                "emails_sent": len(ids),
                "duplicates": duplicates,
                "second_run_sent": again.sent,
                "run_seconds": round(run_seconds, 2),
                "target_seconds": TARGET_SECONDS,
                "database": "postgresql" if args.database_url else "sqlite",
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
