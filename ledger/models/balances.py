"""Each account's balance at the end of every business day it moved (SPEC §4a "as of a date")."""

from datetime import date

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AccountDay(Base):
    """The account's closing balance (normal direction, fen) at the end of ``day``, by
    the journal's effective dates: the running figure an as-of read looks up with one
    index probe — the latest day on or before the date asked — instead of summing the
    account's postings. Kept by ``ledger.journal`` in the transaction that posts; a
    movement dated in the past moves the closing of its day and of every later day."""

    __tablename__ = "account_days"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    closing: Mapped[int]
