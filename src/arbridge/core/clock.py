"""arbridge's clock: one place to ask the time, so tests move it with time-machine."""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    return timezone.localdate()
