"""The vendor sandboxes' test clock, shared by a sandbox and the connector under test."""

import datetime as dt

T0 = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


class Clock:
    """The sandbox's and the connector's clock: it moves only when a test moves it."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now
