"""All models, imported here so that ``Base.metadata`` is complete for migrations.

The model modules do without ``from __future__ import annotations``: with it, every
``Mapped[...]`` annotation is a string that SQLAlchemy evaluates (``eval``) when it
declares the class, about an eighth of declaring the models, which every
``ledger-admin`` command pays at start-up. An annotation naming a class declared
further down its module is quoted instead (``Mapped[list["UserRole"]]``).
"""

from .audit import AuditCheckpoint, AuditEntry, AuditHead
from .auth import BUREAU_ROLES, ROLES, ApiToken, Bank, User, UserRole
from .balances import AccountDay
from .base import Base
from .claims import (
    CLAIM_STATUSES,
    OPEN_CLAIM_STATUSES,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Clawback,
    IdempotencyRecord,
    Recovery,
)
from .documents import DOCUMENT_TYPES, MAX_DOCUMENT_BYTES, ClaimDocument
from .enterprises import Enterprise, EnterpriseBank
from .events import Event
from .journal import CREDIT, DEBIT, Account, JournalTransaction, Posting, Reservation
from .loans import LOAN_STATUSES, Loan, LoanBookTotals, LoanEvent
from .reports import REPORT_STATUSES, LoanReport, LoanReportLine
from .schemes import RuleVersion, Scheme
from .statements import Statement
from .subfunds import OWNER_TYPES, SUBFUND_ACCOUNTS, SubFund
from .webhooks import DELIVERY_STATUSES, Webhook, WebhookAttempt, WebhookDelivery, WebhookFanout

__all__ = [
    "BUREAU_ROLES",
    "CLAIM_STATUSES",
    "CREDIT",
    "DELIVERY_STATUSES",
    "DEBIT",
    "DOCUMENT_TYPES",
    "MAX_DOCUMENT_BYTES",
    "LOAN_STATUSES",
    "OPEN_CLAIM_STATUSES",
    "OWNER_TYPES",
    "REPORT_STATUSES",
    "ROLES",
    "SUBFUND_ACCOUNTS",
    "Account",
    "AccountDay",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Bank",
    "Base",
    "Claim",
    "ClaimDocument",
    "ClaimEvent",
    "ClaimPayerLine",
    "Clawback",
    "Enterprise",
    "EnterpriseBank",
    "Event",
    "IdempotencyRecord",
    "JournalTransaction",
    "Loan",
    "LoanBookTotals",
    "LoanReport",
    "LoanReportLine",
    "LoanEvent",
    "Posting",
    "Recovery",
    "Reservation",
    "RuleVersion",
    "Scheme",
    "Statement",
    "SubFund",
    "User",
    "UserRole",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookFanout",
]
