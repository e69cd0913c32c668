"""Tenancy: partners (the MSPs), their people, their API keys, their connections, the audit log."""

import hashlib
import secrets
import uuid
from typing import ClassVar, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from arbridge.core import clock
from arbridge.core.crypto import EncryptedJSONField

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb.")


class Partner(models.Model):
    """An MSP: the tenant. Every other partner-owned row points here."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    logo = models.ImageField(upload_to="logos/", blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f4e79", validators=[colour])
    accent_colour = models.CharField(max_length=7, default="#f0a202", validators=[colour])
    support_email = models.EmailField(blank=True)
    default_currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:60] or uuid.uuid4().hex[:12]
        if not self.display_name:
            self.display_name = self.name
        super().save(*args, **kwargs)


class PartnerQuerySet(models.QuerySet):
    def for_partner(self, partner: Partner | int) -> "PartnerQuerySet":
        return self.filter(partner=partner)


class PartnerOwned(models.Model):
    """A row that belongs to one partner; reach it through `objects.for_partner()`."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")

    objects = PartnerQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        FINANCE = "finance"
        VIEWER = "viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="one_membership_per_partner")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner} ({self.role})"

    def can_manage(self) -> bool:
        """Return True if this member may change connections, settings and keys."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    def can_handle_money(self) -> bool:
        """Return True if this member may resolve exceptions and record payments."""
        return self.role != self.Role.VIEWER


class Kinds(Protocol):
    """What a connection asks of the kind it is: the integrations registry provides it."""

    def display_name(self, kind: str) -> str: ...

    def validate_preferences(self, kind: str, values: dict) -> dict: ...


class UnnamedKinds:
    """Until the integrations app loads: a kind is its own name and takes any preferences."""

    def display_name(self, kind: str) -> str:
        return kind

    def validate_preferences(self, kind: str, values: dict) -> dict:
        return values


class Connection(PartnerOwned):
    """A partner's link to one external system, whatever its kind.

    It lives in core so that the ledger can point at the system an invoice
    came from without depending on the runtime that drives connections. Core
    names no vendor: the integrations app installs its registry as `kinds`
    when it loads (IntegrationsConfig.ready).
    """

    kinds: ClassVar[Kinds] = UnnamedKinds()

    class Role(models.TextChoices):
        PRIMARY = "primary"
        SECONDARY = "secondary"
        TERTIARY = "tertiary"

    class Status(models.TextChoices):
        PENDING = "pending", "Not yet connected"
        CONNECTED = "connected"
        ERROR = "error"
        DISCONNECTED = "disconnected"

    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    status_detail = models.CharField(max_length=500, blank=True)
    credentials = EncryptedJSONField(default=dict, blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    # The vendor's id for the account, e.g. a QuickBooks realm; how webhooks find us.
    remote_account = models.CharField(max_length=128, blank=True, db_index=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "role"], condition=Q(role__isnull=False), name="one_per_role"
            )
        ]
        ordering = ["role", "id"]

    def __str__(self) -> str:
        return self.name or self.get_kind_display()

    def get_kind_display(self) -> str:
        return self.kinds.display_name(self.kind)

    def clean(self) -> None:
        try:
            self.preferences = self.kinds.validate_preferences(self.kind, self.preferences)
        except ValueError as e:
            raise ValidationError({"preferences": str(e)}) from e

    def set_preferences(self, values: dict) -> None:
        """Validate the kind's preferences and save them; raises ValueError on bad input."""
        self.preferences = self.kinds.validate_preferences(
            self.kind, {**self.preferences, **values}
        )
        self.save(update_fields=["preferences"])

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.CONNECTED


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKeyQuerySet(PartnerQuerySet):
    def authenticate(self, raw: str) -> "ApiKey | None":
        """Return the live key matching the raw secret, or None."""
        if not raw.startswith(ApiKey.PREFIX):
            return None
        key = (
            self.select_related("partner")
            .filter(key_hash=hash_key(raw), revoked_at__isnull=True)
            .first()
        )
        if key is not None:
            now = clock.now()
            # Write the last-used time at most once a minute, not on every request.
            if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
                ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
                key.last_used_at = now
        return key


class ApiKey(PartnerOwned):
    """A partner API key: shown once at creation, stored as a SHA-256 hash."""

    PREFIX = "arb_"

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100)
    scope = models.CharField(
        max_length=5,
        choices=Scope.choices,
        # Least privilege: a key that may change things says so when it is made.
        default=Scope.READ,
        help_text="A read-only key is refused (403) on every request that changes something.",
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, partner: Partner, name: str, created_by=None, scope: str = Scope.READ
    ) -> tuple["ApiKey", str]:
        """Create a key and return it with its raw secret, which is never stored."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            partner=partner,
            name=name,
            key_hash=hash_key(raw),
            prefix=raw[:12],
            created_by=created_by,
            scope=scope,
        )
        return key, raw

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = clock.now()
            self.save(update_fields=["revoked_at"])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class AuditEntry(PartnerOwned):
    """Who did what to which row, for actions a person takes."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=120, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()

    @classmethod
    def record(cls, partner, action: str, actor=None, target: str = "", **detail) -> "AuditEntry":
        return cls.objects.create(
            partner=partner, actor=actor, action=action, target=target, detail=detail
        )
