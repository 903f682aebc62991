"""Domain errors. Each carries a stable ``code`` for API clients and a ``category``
that the web layer maps to an HTTP status; the domain itself knows nothing of HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar


class DomainError(Exception):
    category: ClassVar[str] = "invalid"  # invalid | not_found | conflict | forbidden
    code: ClassVar[str] = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
        details: Sequence[Mapping[str, str]] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code  # type: ignore[misc]
        #: Per-field messages, ``{"amount": ["..."]}``.
        self.errors = dict(errors or {})
        #: Every failed check when several fail at once: ``[{code, field, message}]``.
        self.details = list(details or [])
        self.extra = dict(extra or {})


class ValidationFailed(DomainError):
    code = "validation_failed"


class NotFound(DomainError):
    category = "not_found"
    code = "not_found"


class AlreadyExists(DomainError):
    category = "conflict"
    code = "already_exists"


class InvalidTransition(DomainError):
    category = "conflict"
    code = "invalid_transition"


class InsufficientFunds(DomainError):
    category = "conflict"
    code = "insufficient_funds"

    def __init__(self, account: str, shortfall: int, message: str | None = None) -> None:
        from rules.money import format_amount

        super().__init__(
            message or f"Account {account} lacks {format_amount(shortfall)} yuan for this movement.",
            extra={"account": account, "shortfall": format_amount(shortfall)},
        )
        self.account = account
        self.shortfall = shortfall


class UnbalancedTransaction(DomainError):
    code = "unbalanced_transaction"


class ReservationResolved(DomainError):
    category = "conflict"
    code = "reservation_already_resolved"


class AlreadyReversed(DomainError):
    category = "conflict"
    code = "already_reversed"


class Forbidden(DomainError):
    category = "forbidden"
    code = "forbidden"


class FourEyesViolation(DomainError):
    category = "forbidden"
    code = "four_eyes"
