"""Banks' webhooks, one delivery per (webhook, event), and every attempt (SPEC §4a)."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .events import Event

DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: Event types delivered here (``["*"]``: all).
    event_types: Mapped[list[str]] = mapped_column(JSON)
    #: HMAC key of the signatures. Kept as written: the worker must sign with it (a
    #: hash would not do), and whoever reads this table reads the events anyway.
    secret: Mapped[str] = mapped_column(String(80))
    #: The secret before the last rotation, still signed with (a second ``v1=``)
    #: until ``previous_secret_expires_at`` so a bank can switch its receiver over.
    previous_secret: Mapped[str | None] = mapped_column(String(80))
    previous_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    #: Deleted webhooks receive nothing more; their delivery log stays readable.
    deleted_at: Mapped[datetime | None]


class WebhookFanout(Base):
    """How far the worker has turned events into deliveries (one row, id 1).

    Events are fanned out to the webhooks by the worker, not by the request that
    writes them, so the hot path pays one INSERT per event and nothing more.
    """

    __tablename__ = "webhook_fanout"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Events up to this feed position have their deliveries.
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed', 'cancelled')", name="status"),
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        # The worker's claim query: due pending deliveries, oldest first.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Not before this moment; retries move it out with back-off.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A worker holds the delivery until then; a worker that dies mid-delivery lets
    #: the lease run out and another takes it over (at least once).
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    event: Mapped[Event] = relationship(lazy="joined")
    webhook: Mapped[Webhook] = relationship(lazy="joined")


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The receiver's HTTP status; NULL when no answer came (refused, timeout, DNS).
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(120))
