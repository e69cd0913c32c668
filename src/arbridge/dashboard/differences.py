"""The differences page: the product document's table, drawn from every registered connector.

What each integration syncs and how often comes from its Capabilities: nothing
in it is written by hand.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arbridge.connectors.base import Capabilities, Frequency, Item
from arbridge.core.access import member_required
from arbridge.integrations import registry

LABELS = {
    Frequency.REAL_TIME: "Real Time",
    Frequency.HOURLY: "Hourly",
    Frequency.DAILY: "Daily",
    Frequency.NONE: "—",
}


@dataclass(frozen=True)
class Column:
    """One integration's column of the table."""

    kind: str
    name: str
    capabilities: Capabilities | None  # None: not yet available

    def frequency(self, item: Item) -> str:
        """Return how often the item syncs, both ways when an old version syncs it slower."""
        if self.capabilities is None:
            return ""
        usual = self.capabilities.frequency(item)
        slower = self.capabilities.fallback_frequencies.get(item)
        if slower is not None and slower != usual:
            return f"{LABELS[slower]}/{LABELS[usual]}*"
        if self.capabilities.polled and usual == Frequency.REAL_TIME:
            return f"{LABELS[usual]}*"
        return LABELS[usual]

    @property
    def files_note(self) -> str:
        if self.capabilities is None or not self.capabilities.files:
            return ""
        return (
            f"{self.name} is read from its export files: at once when uploaded, "
            "hourly from the connection's folder. Nothing is written back to it."
        )

    @property
    def version_note(self) -> str:
        if self.capabilities is not None and self.capabilities.polled:
            return (
                f"* {LABELS[Frequency.REAL_TIME]} for {self.name}: at the next poll of its "
                "program on the partner's PC (every few minutes, as its setup file says)."
            )
        if self.capabilities is None or not self.capabilities.min_version_for_real_time:
            return ""
        return (
            f"* {LABELS[Frequency.REAL_TIME]} from {self.name} "
            f"{self.capabilities.min_version_for_real_time}; hourly before it."
        )


def columns() -> list[Column]:
    result = []
    for kind in registry.all_kinds():
        try:
            capabilities = registry.load(kind).capabilities
        except (ImportError, LookupError):
            capabilities = None
        result.append(Column(kind, registry.display_name(kind), capabilities))
    return result


@member_required()
def differences(request: HttpRequest) -> HttpResponse:
    """Show what each integration syncs and how often, from the connectors themselves."""
    cols = columns()
    rows = [(item.value, [c.frequency(item) for c in cols]) for item in Item]
    ctx = {
        "page": "connections",
        "columns": cols,
        "rows": rows,
        "notes": [note for c in cols for note in (c.version_note, c.files_note) if note],
    }
    return render(request, "dashboard/differences.html", ctx)
