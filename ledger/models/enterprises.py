"""Borrowers: technology SMEs identified by their unified social credit code (SPEC §2)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 统一社会信用代码, 18 characters with a valid GB 32100-2015 check digit.
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(6))
    #: Sorted category names (tech_sme, high_tech, agri_tech, specialized_town, …).
    categories: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnterpriseBank(Base):
    """Which banks registered (and so may see) an enterprise.

    ``requested`` is the bank's own record (name, region, categories) where it differs
    from the shared master data and the bank may not change that (another bank lends to
    the enterprise): a request for the bureau, and what the bank reads meanwhile, so
    that nothing it sees tells it another bank knows the enterprise (SPEC §4).
    """

    __tablename__ = "enterprise_banks"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
