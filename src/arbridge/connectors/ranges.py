"""Sets of remote ids kept in a cursor as [first, last] runs.

Vendors that delete outright (HaloPSA, ConnectWise, Autotask) are checked for
deletions by comparing the ids they still list with the ids already given to
arbridge; their ids count up, so a few runs hold many.
"""

from collections.abc import Iterable


def to_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Return ids as sorted [first, last] runs."""
    runs: list[list[int]] = []
    for remote_id in sorted(set(ids)):
        if runs and remote_id == runs[-1][1] + 1:
            runs[-1][1] = remote_id
        else:
            runs.append([remote_id, remote_id])
    return runs


def from_ranges(runs: Iterable[Iterable[int]]) -> set[int]:
    """Return the ids that [first, last] runs hold."""
    ids: set[int] = set()
    for first, last in runs:
        ids.update(range(first, last + 1))
    return ids
