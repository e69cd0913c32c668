"""The demo's history tells its story: DSO falls after auto pay is turned on."""

import datetime as dt

from arbridge.metrics import figures, history
from arbridge.metrics.demo import MONTHS, seed_demo


def test_twelve_months_with_dso_falling_after_auto_pay(partner, today):
    made = seed_demo(partner)
    assert made == MONTHS * 18
    assert seed_demo(partner) == 0  # once
    over_time = history.overview(partner, "month", 12, figures.Period.last(90))
    series = [p.countback for p in over_time.dso["USD"]]
    before, after = series[:4], series[-3:]
    assert min(before) > 45 and max(after) < 35
    recent = over_time.period_flows["USD"]
    assert recent.autopay_share > 40
    aging = figures.aging(partner)["USD"]
    assert aging.amounts["90+"] > 0  # the few never paid
    assert aging.total == sum(figures.outstanding(partner).values())
    live, latest = over_time.before_after["USD"]
    assert latest.dso < live.dso
    assert latest.days_to_pay < live.days_to_pay
    assert figures.live_since(partner) < today - dt.timedelta(days=150)
