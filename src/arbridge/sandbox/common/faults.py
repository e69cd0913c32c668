"""The faults a test or the demo switches on in a sandbox, through its control API.

latency_ms    added to every API call
error_rate    the share of calls that fail, drawn from a seeded generator
error_kinds   how they fail: "429", "500", "503" (answered at once, nothing
              done) or "timeout" (the call is carried out, then answered
              504, as when a gateway gives up on a slow backend)
timeout_ms    how long a "timeout" is held before its 504
seed          seeds the generator, so a test sees the same calls fail
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Self

ERROR_KINDS = ("429", "500", "503", "timeout")

# How each setting is read from the control API's JSON body.
READERS: dict[str, Callable[[Any], Any]] = {
    "latency_ms": int,
    "error_rate": float,
    "error_kinds": list,
    "timeout_ms": int,
    "seed": lambda value: value,
}


class Settings:
    """Reading and writing a dataclass of fault settings as the control API's JSON."""

    # Settings the control API also takes that act once rather than being kept.
    also_accepted: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Return faults from the control API's body; raise ValueError if it is wrong."""
        names = [setting.name for setting in fields(cls)]
        unknown = set(data) - {*names, *cls.also_accepted}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        faults = cls(**{name: READERS[name](data[name]) for name in names if name in data})
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate is between 0 and 1")
        if not faults.error_kinds or set(faults.error_kinds) - set(ERROR_KINDS):
            raise ValueError(f"error_kinds are some of {', '.join(ERROR_KINDS)}")
        if any(getattr(faults, name) < 0 for name in names if name.endswith("_ms")):
            raise ValueError("times are not negative")
        return faults

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Faults(Settings):
    """Faults for a sandbox whose OAuth tokens a test can also expire (expire_tokens)."""

    also_accepted = frozenset({"expire_tokens"})

    latency_ms: int = 0
    error_rate: float = 0.0
    error_kinds: list[str] = field(default_factory=lambda: ["500"])
    timeout_ms: int = 5000
    seed: int | None = None
