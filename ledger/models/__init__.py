"""All models, imported here so that ``Base.metadata`` is complete for migrations."""

from .audit import AuditEntry, AuditHead
from .auth import ROLES, ApiToken, Bank, User, UserRole
from .base import Base
from .journal import CREDIT, DEBIT, Account, JournalTransaction, Posting, Reservation
from .subfunds import OWNER_TYPES, SUBFUND_ACCOUNTS, SubFund

__all__ = [
    "CREDIT",
    "DEBIT",
    "OWNER_TYPES",
    "ROLES",
    "SUBFUND_ACCOUNTS",
    "Account",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Bank",
    "Base",
    "JournalTransaction",
    "Posting",
    "Reservation",
    "SubFund",
    "User",
    "UserRole",
]
