"""Sub-funds (子基金): the pots of money paid in by province, city, county or insurer."""

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

OWNER_TYPES = ("province", "city", "county", "insurer", "other")

#: The journal accounts each sub-fund owns, by purpose, with their normal side and
#: whether the account may never go below zero.
SUBFUND_ACCOUNTS = {
    "available": ("debit", True),  # cash that can still be reserved
    "reserved": ("debit", True),  # cash held for approved claims
    "contributions": ("credit", False),  # paid in by the owner
    "paid": ("debit", False),  # paid out to banks
    "recovered": ("credit", False),  # returned from banks' recoveries
}


class SubFund(Base):
    __tablename__ = "subfunds"
    __table_args__ = (
        CheckConstraint(
            "owner_type IN ('province', 'city', 'county', 'insurer', 'other')", name="owner_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_type: Mapped[str] = mapped_column(String(10))
    #: GB/T 2260 code of the owner's region (insurers: the region they cover).
    region: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def account_code(self, purpose: str) -> str:
        return f"subfund:{self.code}:{purpose}"
