"""Pull lists a vendor reads by page and by last change, and whose deletes leave no trace.

HaloPSA and ConnectWise are read the same way; only their calls differ, and
the connector hands those in as a `VendorList`. One cursor stream keeps each
list's place, so a run resumes every list from its last checkpoint:

    {"clients": {"since": T, "ids": [[1, 40]]},      read what changed since T
     "invoices": {"page": 7, "page_size": 1000,      a full read under way: resume
                  "started": T, "ids": [[1, 600]]}}  at page 7

A list with no place yet is read whole, in pages ordered by id, with a
checkpoint after every page. Afterwards only what changed since the last read
began is read (`high_water`: the server's clock less an overlap, so a cursor
never passes the moment its read began); then the ids the vendor still lists
are compared with those arbridge was given (`ids`, kept as runs: ranges.py),
because a deleted record simply disappears: the missing ones are yielded as
deletes, which the engine leaves for a person to archive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arbridge.connectors.base import Change, Cursor, Op, Rejected
from arbridge.connectors.ranges import from_ranges, to_ranges

Place = dict[str, Any]  # one list's place in the cursor


@dataclass(frozen=True)
class VendorList:
    """The vendor calls that read one list, bound to it by its connector."""

    # (first page, page size, changed since or None) -> (page number, raw rows), by id
    pages: Callable[[int, int, str | None], Iterable[tuple[int, list[Any]]]]
    # one page's raw rows -> its records; None for a row that does not sync
    read: Callable[[list[Any]], Iterable[Change | Rejected | None]]
    present: Callable[[], set[int]]  # every id the list still holds
    deleted: Callable[[int], Change]  # the change for a record gone
    # Where a full read counts changes from, when the connector fixed it before
    # the first page (ConnectWise reads invoice lines first); else the first page's.
    started: str | None = None


def pull(
    stream: str,
    cursor: Cursor | None,
    names: Sequence[str],
    open_list: Callable[[str, Mapping[str, Any], set[int]], VendorList],
    *,
    page_size: int,
    high_water: Callable[[], str],
) -> Iterator[Change | Rejected | Cursor]:
    """Read each list from its place, yielding the whole cursor after every checkpoint.

    `open_list(name, place, ids)` is called just before a list is read, so that
    a connector can read what the whole list needs first.
    """
    places = dict(cursor.value) if cursor is not None else {}
    for name in names:
        place = places.get(name) or {"page": 1}
        ids = from_ranges(place.get("ids", []))
        vendor = open_list(name, place, ids)
        if "since" in place:
            items = _read_changes(vendor, place["since"], ids, page_size, high_water)
        else:
            items = _read_all(vendor, place, ids, page_size, high_water)
        for item in items:
            if isinstance(item, dict):  # this list's new place
                places[name] = item
                yield Cursor(stream, dict(places))
            else:
                yield item


def _read_all(
    vendor: VendorList,
    place: Mapping[str, Any],
    ids: set[int],
    page_size: int,
    high_water: Callable[[], str],
) -> Iterator[Change | Rejected | Place]:
    """Read a whole list page by page from where `place` says, checkpointing after each."""
    started = place.get("started") or vendor.started
    # A page number means something only with the page size it was counted in.
    size = place.get("page_size", page_size)
    for number, rows in vendor.pages(place["page"], size, None):
        started = started or high_water()
        for item in vendor.read(rows):
            # A full read yields only records arbridge should hold.
            if isinstance(item, Change) and item.op == Op.UPSERT:
                ids.add(int(item.remote_id))
                yield item
            elif isinstance(item, Rejected):
                yield item
        state = {"page": number + 1, "page_size": size, "started": started}
        yield {**state, "ids": to_ranges(ids)}
    yield {"since": started or high_water(), "ids": to_ranges(ids)}


def _read_changes(
    vendor: VendorList,
    since: str,
    known: set[int],
    page_size: int,
    high_water: Callable[[], str],
) -> Iterator[Change | Rejected | Place]:
    """Read what changed since `since`, then find what was deleted."""
    started = None
    for _, rows in vendor.pages(1, page_size, since):
        started = started or high_water()
        for item in vendor.read(rows):
            if isinstance(item, Change):
                remote_id = int(item.remote_id)
                if item.op == Op.DELETE:
                    if remote_id not in known:
                        continue  # never given to arbridge: nothing to take back
                    known.discard(remote_id)
                else:
                    known.add(remote_id)
            if item is not None:
                yield item
    present = vendor.present()
    for remote_id in sorted(known - present):
        yield vendor.deleted(remote_id)
    yield {"since": started, "ids": to_ranges(known & present)}
