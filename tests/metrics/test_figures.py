"""Every figure against the ledger of conftest.py, added up by hand."""

import datetime as dt
from decimal import Decimal as D

from arbridge.metrics import figures, history
from arbridge.metrics.figures import Period

MARCH = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
APRIL = Period(dt.date(2025, 4, 1), dt.date(2025, 4, 15))


def test_countback_dso_of_the_worked_example_is_73_7_days():
    # AR 212k against sales of 100k, 80k and 70k in the last three (30-day) months.
    months = [(D(100_000), 30), (D(80_000), 30), (D(70_000), 30)]
    assert history.countback_dso(D(212_000), months) == D("73.7")


def test_simple_dso_is_ar_over_sales_times_days():
    assert history.simple_dso(D(212_000), D(250_000), 90) == D("76.3")
    assert history.simple_dso(D(10), D(0), 90) is None


def test_aging_buckets_hold_the_open_balances_by_days_past_due(book, partner, today):
    usd, eur = figures.aging(partner)["USD"], figures.aging(partner)["EUR"]
    assert usd.amounts == {
        "current": D("1000.00"),
        "1-30": D("300.00"),  # B after its partial payment
        "31-60": D("700.00"),  # C after its credit, exactly 60 days late
        "61-90": D("0.00"),
        "90+": D("400.00"),
    }
    assert usd.counts == {"current": 1, "1-30": 1, "31-60": 1, "61-90": 0, "90+": 1}
    assert usd.total == D("2400.00")
    assert eur.amounts["current"] == D("250.00") and eur.total == D("250.00")
    assert figures.outstanding(partner) == {"EUR": D("250.00"), "USD": D("2400.00")}


def test_aging_by_customer(book, partner, today):
    rows = {(r.customer_name, r.currency): r for r in figures.aging_by_customer(partner)}
    assert set(rows) == {("Globex", "EUR"), ("Globex", "USD"), ("Initech", "USD")}
    assert rows["Initech", "USD"].amounts["90+"] == D("400.00")
    assert rows["Initech", "USD"].total == D("1100.00")
    assert rows["Globex", "USD"].total == D("1300.00")


def test_a_bucket_filter_finds_the_invoices_behind_the_bucket(book, partner, today):
    numbers = {
        bucket: sorted(
            figures.unpaid(partner)
            .filter(figures.bucket_filter(bucket, today))
            .values_list("number", flat=True)
        )
        for bucket in figures.BUCKETS
    }
    assert numbers == {
        "current": ["A", "H"],
        "1-30": ["B"],
        "31-60": ["C"],
        "61-90": [],
        "90+": ["D"],
    }


def test_overdue_rate_by_count_and_amount(book, partner, today):
    usd = figures.overdue(partner)["USD"]
    assert (usd.unpaid_count, usd.overdue_count) == (4, 3)
    assert usd.rate == D("75.0")
    assert usd.overdue_amount == D("1400.00")
    assert usd.amount_rate == D("58.3")
    assert figures.overdue(partner)["EUR"].rate == D("0.0")


def test_dso_both_ways(book, partner, today):
    usd = history.dso(partner)["USD"]
    assert usd.owed == D("2400.00")
    # 90 days from Jan 16: A, B and G were invoiced, 2,100.00.
    assert usd.invoiced == D("2100.00")
    assert usd.simple == D("102.9")
    # April so far 1,000 (15 days), March 500 (31), February 600 (28), then 300 of
    # January's 800: 15 + 31 + 28 + 300/800 x 31 = 85.6.
    assert usd.countback == D("85.6")


def test_what_was_owed_in_the_past_is_rebuilt_from_what_happened(book, partner, today):
    book_ = history.read(partner, dt.date(2024, 11, 1))
    # Before the first invoice, nothing was owed.
    assert book_.owed("USD", dt.date(2024, 11, 30)) == 0
    # End of February: D, C, G invoiced (1,800.00); nothing settled yet.
    assert book_.owed("USD", dt.date(2025, 2, 28)) == 180000
    # End of March: + B 500, - credit 100, - G's 600.
    assert book_.owed("USD", dt.date(2025, 3, 31)) == 160000
    assert book_.owed("USD", today) == 240000


def test_dso_series_ends_at_today(book, partner, today):
    def series_of(grain: str, count: int) -> dict:
        spans = figures.periods(grain, count, today)
        return history.dso_series(history.read(partner, dt.date(2024, 1, 1)), spans)

    series = series_of("month", 3)
    assert [p.end for p in series["USD"]] == [
        dt.date(2025, 2, 28),
        dt.date(2025, 3, 31),
        today,
    ]
    assert series["USD"][-1].countback == D("85.6")
    assert [p.end for p in series_of("week", 2)["USD"]] == [
        dt.date(2025, 4, 13),
        today,
    ]


def test_invoiced_and_collected_per_month_with_auto_pay_share(book, partner, today):
    march, april = history.flows(history.read(partner, MARCH.start), [MARCH, APRIL])["USD"]
    # Void V and archived R are not invoicing.
    assert (march.invoiced, march.invoice_count) == (D("500.00"), 1)
    assert (march.collected, march.autopay, march.autopay_share) == (
        D("600.00"),
        D("600.00"),
        D("100.0"),
    )
    assert march.collected_share == D("120.0")
    assert (april.invoiced, april.collected, april.autopay_share) == (
        D("1000.00"),
        D("200.00"),
        D("0.0"),
    )
    eur = history.flow(partner, MARCH)["EUR"]
    assert (eur.invoiced, eur.collected) == (D("250.00"), D("0.00"))


def test_payments_by_method(book, partner, today):
    rows = history.read(partner, MARCH.start).methods(Period(MARCH.start, APRIL.end))
    assert [(m.method, m.count, m.amount) for m in rows] == [
        ("card", 1, D("600.00")),
        ("ach", 1, D("200.00")),
    ]


def test_average_days_to_pay_is_weighted_by_amount(book, partner, today):
    # G: 600.00 after 40 days; B: 200.00 after 35 days. (24,000 + 7,000) / 800 = 38.75.
    past = history.read(partner, dt.date(2025, 1, 1))
    assert past.days_to_pay("USD", Period(MARCH.start, APRIL.end)) == D("38.8")
    assert past.days_to_pay("USD", APRIL) == D("35.0")
    assert past.days_to_pay("EUR", APRIL) is None


def test_hours_reclaimed_count_what_was_written_back(written_back, partner, today):
    saved = figures.reclaimed(partner, APRIL, minutes_per_entry=6)
    assert (saved.payments, saved.deposits, saved.hours) == (3, 1, D("0.4"))
