"""The sandbox's webhook callbacks: verification codes first, then signed change forms.

# Reference: https://www.freshbooks.com/api/webhooks

A new callback gets `name=callback.verify&object_id=<callback id>&verifier=<code>`
posted to its URI at once. Once verified (the code PUT back), every change
its event covers ("invoice" covers invoice.create, .update and .delete) is
posted as `name=invoice.update&object_id=<id>&account_id=..&business_id=..
&identity_id=..&user_id=1`, signed in X-FreshBooks-Hmac-SHA256 with the
callback's verifier over the JSON of the form's fields. A failed post is
tried again on later flushes, backing off, up to MAX_ATTEMPTS times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import httpx

from arbridge.sandbox.common.deliveries import Deliveries
from arbridge.sandbox.freshbooks.store import Event, Store

MAX_ATTEMPTS = 8
FORM = "application/x-www-form-urlencoded"


def sign(verifier: str, fields: dict[str, str]) -> str:
    digest = hmac.new(verifier.encode(), json.dumps(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Notifier(Deliveries):
    """Post each account's events to the callbacks registered for them."""

    def __init__(
        self, store: Store, *, interval: float | None = 0.5, http: httpx.Client | None = None
    ) -> None:
        super().__init__(interval=interval, http=http)
        self.store = store
        self.attempts: dict[int, int] = {}

    def add(self, event: Event) -> None:
        account = self.store.accounts.get(event.account_id)
        if account is None:
            return
        if event.name == "callback.verify":
            self.queue(event.object_id, event)
            return
        noun = event.name.split(".")[0]
        for callback in account.callbacks.values():
            if callback["verified"] and callback["event"] in (noun, event.name):
                self.queue(callback["callbackid"], event)

    def fields(self, event: Event) -> dict[str, str]:
        account = self.store.accounts[event.account_id]
        fields = {"name": event.name, "object_id": str(event.object_id)}
        if event.verifier:
            fields["verifier"] = event.verifier
        fields.update(
            account_id=account.id,
            business_id=str(account.business_id),
            identity_id="1",
            user_id="1",
        )
        return fields

    def send(self, callback_id: int, events: list[Event]) -> int:
        sent = 0
        for n, event in enumerate(events):
            account = self.store.accounts.get(event.account_id)
            callback = account.callbacks.get(callback_id) if account else None
            if callback is None:
                continue  # deleted since
            fields = self.fields(event)
            headers = {"content-type": FORM}
            if event.name != "callback.verify":
                headers["x-freshbooks-hmac-sha256"] = sign(account.verifiers[callback_id], fields)
            if not self.post(callback["uri"], urlencode(fields).encode(), headers):
                attempts = self.attempts.get(callback_id, 0) + 1
                self.attempts[callback_id] = attempts
                if attempts < MAX_ATTEMPTS:
                    self.requeue(callback_id, events[n:], retry=attempts)
                return sent
            self.attempts.pop(callback_id, None)
            sent += 1
        return sent
