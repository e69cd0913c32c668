"""Paginators: small objects that say which page to request next, as singer_sdk's do.

A connector asks `current_value` for the page to request, hands the response
to `advance()`, and stops when `finished`. `pages()` runs that loop:

    paginator = OffsetPaginator(1, 1000, records=lambda r: r.json()["QueryResponse"]["Invoice"])
    for response in pages(paginator, lambda start: client.get(url, params=query(start))):
        ...

A vendor that hands back a page token it already gave would keep a sync busy
forever; `advance()` refuses it with a PermanentError naming the token.

    Paginator                    the loop and the loop check
    ├── OffsetPaginator          a start position moved by the page size (QBO STARTPOSITION)
    │   └── PageNumberPaginator  page 1, 2, 3... (Xero `page`)
    ├── LinkHeaderPaginator      the Link header's rel="next" URL (ConnectWise)
    └── BodyLinkPaginator        a URL inside the JSON body (Autotask pageDetails.nextPageUrl)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sized
from typing import Generic, TypeVar

import httpx

from arbridge.connectors.base import PermanentError

T = TypeVar("T", bound=Hashable)


class Paginator(Generic[T]):
    """Track the page to request next; subclasses say where it comes from."""

    def __init__(self, start_value: T) -> None:
        self._value = start_value
        self._seen: set[T] = {start_value}
        self._finished = False
        self.count = 0  # pages read so far

    @property
    def current_value(self) -> T:
        return self._value

    @property
    def finished(self) -> bool:
        return self._finished

    def advance(self, response: httpx.Response) -> None:
        """Move past the page in `response`, or finish if it was the last."""
        if self._finished:
            raise RuntimeError("advance() called on a finished paginator")
        self.count += 1
        new_value = self.get_next(response) if self.has_more(response) else None
        if new_value is None:
            self._finished = True
            return
        if new_value in self._seen:
            raise PermanentError(
                f"pagination loop: page {new_value!r} was already requested "
                f"(after {self.count} pages)"
            )
        self._seen.add(new_value)
        self._value = new_value

    def has_more(self, response: httpx.Response) -> bool:
        """Return False if `response` was the last page."""
        return True

    def get_next(self, response: httpx.Response) -> T | None:
        """Return the page after `response`, or None if there is none."""
        raise NotImplementedError


class OffsetPaginator(Paginator[int]):
    """Move a start position by the page size until a page comes back short.

    `records` returns a page's records; QuickBooks Online says nothing else about
    whether more follow.
    """

    def __init__(
        self,
        start_value: int,
        page_size: int,
        *,
        records: Callable[[httpx.Response], Sized],
    ) -> None:
        super().__init__(start_value)
        self.page_size = page_size
        self.records = records

    def has_more(self, response: httpx.Response) -> bool:
        return len(self.records(response)) >= self.page_size

    def get_next(self, response: httpx.Response) -> int:
        return self._value + self.page_size


class PageNumberPaginator(OffsetPaginator):
    """Count pages 1, 2, 3... until a page comes back short."""

    def __init__(
        self,
        start_value: int = 1,
        *,
        page_size: int,
        records: Callable[[httpx.Response], Sized],
    ) -> None:
        super().__init__(start_value, page_size, records=records)

    def get_next(self, response: httpx.Response) -> int:
        return self._value + 1


class LinkHeaderPaginator(Paginator[str]):
    """Follow the Link header's rel="next" URL until a response has none."""

    def get_next(self, response: httpx.Response) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        return str(response.request.url.join(link["url"]))


class BodyLinkPaginator(Paginator[str]):
    """Follow a next-page URL found in the JSON body at a dotted `path`."""

    def __init__(self, start_value: str, path: str) -> None:
        super().__init__(start_value)
        self.path = path.split(".")

    def get_next(self, response: httpx.Response) -> str | None:
        value = response.json()
        for name in self.path:
            if not isinstance(value, dict):
                raise PermanentError(f"the page has no {'.'.join(self.path)}")
            value = value.get(name)
        if not value:
            return None
        return str(response.request.url.join(value))


def pages(
    paginator: Paginator[T], fetch: Callable[[T], httpx.Response]
) -> Iterator[httpx.Response]:
    """Yield each page's response, fetching the next once the caller is done with one."""
    while not paginator.finished:
        response = fetch(paginator.current_value)
        yield response
        paginator.advance(response)
