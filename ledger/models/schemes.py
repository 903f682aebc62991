"""Schemes (e.g. GD-KJD) and their append-only rule versions (SPEC §3)."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Scheme(Base):
    __tablename__ = "schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list["RuleVersion"]] = relationship(
        back_populates="scheme", order_by="RuleVersion.version", lazy="selectin"
    )


class RuleVersion(Base):
    """One published rule document. Immutable: a trigger refuses UPDATE and DELETE."""

    __tablename__ = "rule_versions"
    __table_args__ = (
        UniqueConstraint("scheme_id", "version"),
        UniqueConstraint("scheme_id", "effective_from", name="uq_rule_versions_scheme_effective"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    #: 1, 2, 3 … per scheme.
    version: Mapped[int]
    effective_from: Mapped[date]
    #: The normalised rule document (``RuleSet.document``) as published.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: SHA-256 of the document's canonical JSON, printed on statements.
    document_sha256: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    scheme: Mapped[Scheme] = relationship(back_populates="versions", lazy="joined")
