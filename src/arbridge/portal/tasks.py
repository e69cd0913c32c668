"""The portal's background jobs: its emails, so a page never waits on (or reveals) SMTP."""

from huey.contrib.djhuey import db_task

from arbridge.core.models import Partner
from arbridge.portal import emails


@db_task(retries=3, retry_delay=60)
def send_sign_in(partner_id: int, email: str, links: list[tuple[str, str]]) -> None:
    emails.send_sign_in(Partner.objects.get(pk=partner_id), email, links)


@db_task(retries=3, retry_delay=60)
def send_receipt(checkout_id: int) -> None:
    emails.send_receipt(checkout_id)
