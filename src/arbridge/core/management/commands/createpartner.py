"""Create a partner (an MSP) and its owner; optionally issue an API key."""

import secrets

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from arbridge.core.models import ApiKey, AuditEntry, Membership, Partner


class Command(BaseCommand):
    help = "Create a partner and its owner, printing the owner's password (and an API key)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help='The partner\'s name, e.g. "Acme IT".')
        parser.add_argument("--owner", required=True, help="The owner's username.")
        parser.add_argument("--email", default="", help="The owner's email address.")
        parser.add_argument(
            "--password", help="The owner's password (default: generated and printed)."
        )
        parser.add_argument("--slug", help="The partner's URL slug (default: from the name).")
        parser.add_argument("--api-key", action="store_true", help="Issue and print an API key.")

    @transaction.atomic
    def handle(self, *, name: str, owner: str, email: str, password: str | None, **options):
        slug = options["slug"] or slugify(name)[:60]
        if not slug:
            raise CommandError("give a --slug: the name has no letters or digits to make one")
        if Partner.objects.filter(slug=slug).exists():
            raise CommandError(f"a partner with the slug {slug!r} exists; choose another --slug")

        user = User.objects.filter(username=owner).first()
        generated = password is None and user is None
        if generated:
            password = secrets.token_urlsafe(12)
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as e:
                raise CommandError(" ".join(e.messages)) from e
        if user is None:
            user = User.objects.create_user(owner, email, password)
        elif password is not None:
            user.set_password(password)
            user.save(update_fields=["password"])

        partner = Partner.objects.create(name=name, slug=slug, support_email=email)
        Membership.objects.create(user=user, partner=partner, role=Membership.Role.OWNER)
        AuditEntry.record(partner, "partner.created", target=slug, owner=owner)

        self.stdout.write(f"Partner: {partner.name} ({partner.slug})")
        if generated:
            self.stdout.write(f"Login: {owner} {password}")
        else:
            self.stdout.write(f"Login: {owner} (the password you gave or already had)")
        if options["api_key"]:
            _, raw = ApiKey.issue(
                partner, "Created with createpartner", created_by=user, scope=ApiKey.Scope.WRITE
            )
            self.stdout.write(f"API key: {raw}")
