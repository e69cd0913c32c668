"""The ledger's refusal, and rows whose ledger fields only the ledger writes."""

from typing import Any, ClassVar

from arbridge.core.models import PartnerOwned


class LedgerError(ValueError):
    """A change that would break a ledger invariant; nothing was written."""


class Guarded(PartnerOwned):
    """A row whose `ledger_fields` only this module writes."""

    ledger_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember()
        return instance

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember()

    def _remember(self) -> None:
        self._ledger_values = {
            f: self.__dict__[f] for f in self.ledger_fields if f in self.__dict__
        }

    def prepare_new(self) -> None:
        """Check and complete a row about to be inserted."""

    def save(self, **kwargs: Any) -> None:
        if self._state.adding:
            self.prepare_new()
        else:
            kwargs["update_fields"] = self._plain_update_fields(kwargs.get("update_fields"))
        super().save(**kwargs)
        self._remember()

    def _plain_update_fields(self, update_fields) -> list[str]:
        if update_fields is not None:
            if touched := set(update_fields) & set(self.ledger_fields):
                raise LedgerError(f"{', '.join(sorted(touched))} change only through the ledger")
            return list(update_fields)
        if changed := self._changed_ledger_fields():
            raise LedgerError(f"{', '.join(changed)} change only through the ledger")
        return [
            f.name
            for f in self._meta.concrete_fields
            if not f.primary_key and f.name not in self.ledger_fields
        ]

    def _changed_ledger_fields(self) -> list[str]:
        loaded = getattr(self, "_ledger_values", {})
        return [f for f, value in loaded.items() if getattr(self, f) != value]

    def _write(self, *fields: str) -> None:
        """Save the given fields, ledger fields included; for this module only."""
        super().save(update_fields=fields)
        self._remember()

    def _take(self, other: "Guarded", *fields: str) -> None:
        """Copy fields from a freshly saved copy of this row, so the caller sees them."""
        for f in fields:
            setattr(self, f, getattr(other, f))
        self._remember()
