"""Banks' webhooks and their delivery log (SPEC §4a)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ledger import events, webhooks
from ledger.audit import utc_text
from ledger.models import DELIVERY_STATUSES, Bank, Webhook, WebhookAttempt, WebhookDelivery

from . import db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, current_user, require_roles
from .pagination import PageQuery, envelope, page_schema
from .fields import BoundedList, Code, DateTime
from .parsing import Blueprint

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Signed POSTs of a bank's events to its own systems")
OWNER_OR_BUREAU = ("bank", *BUREAU_READ)


def config_flag(value: object) -> bool:
    """A boolean setting that may come from the environment as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def url_policy() -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(allow_private=config_flag(current_app.config.get("WEBHOOK_ALLOW_PRIVATE")),
                              require_https=config_flag(current_app.config.get("WEBHOOK_REQUIRE_HTTPS", True)))


class WebhookIn(Schema):
    url = Code(required=True, validate=validate.Length(min=1, max=2000))
    events = BoundedList(Code(validate=validate.Length(min=1, max=40)), max_items=len(events.EVENT_TYPES) + 1,
                         required=True,
                         validate=validate.Length(min=1, max=len(events.EVENT_TYPES)),
                         metadata={"description": "Event types to receive, or [\"*\"] for all"})


class WebhookOut(Schema):
    id = fields.Integer()
    bank = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    created_at = fields.String()
    created_by = fields.String()
    deleted_at = fields.String(allow_none=True)
    previous_secret_expires_at = fields.String(allow_none=True,
                                               metadata={"description": "Until then the rotated-out secret signs too"})
    pending = fields.Integer(metadata={"description": "Deliveries still to be made or retried"})
    failed = fields.Integer(metadata={"description": "Deliveries given up after 24 hours of retries"})


class WebhookSecretOut(WebhookOut):
    secret = fields.String(metadata={"description": "whsec_…: the signing key, shown only in this answer"})


class WebhookQuery(PageQuery):
    bank = Code(metadata={"description": "Bureau and auditors: one bank's webhooks"})


class DeliveryQuery(PageQuery):
    status = Code(validate=validate.OneOf(DELIVERY_STATUSES))


class AttemptOut(Schema):
    attempted_at = fields.String()
    status_code = fields.Integer(allow_none=True, metadata={"description": "The receiver's answer; null: none came"})
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(metadata={"description": "pending, delivered, failed (retries exhausted) or cancelled"})
    attempts = fields.List(fields.Nested(AttemptOut))
    created_at = fields.String()
    next_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)


class PingOut(Schema):
    event_id = fields.String(metadata={"description": "The webhook.ping event the worker delivers to this webhook"})


def _text(moment) -> str | None:  # type: ignore[no-untyped-def]
    return utc_text(moment) if moment is not None else None


def _counts(hook_ids: list[int]) -> dict[tuple[int, str], int]:
    rows = db.session().execute(
        select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.webhook_id.in_(hook_ids), WebhookDelivery.status.in_(("pending", "failed")))
        .group_by(WebhookDelivery.webhook_id, WebhookDelivery.status)
    ).all()
    return {(hook_id, status): n for hook_id, status, n in rows}


def _out(hook: Webhook, counts: dict[tuple[int, str], int] | None = None) -> dict:  # type: ignore[type-arg]
    counts = _counts([hook.id]) if counts is None else counts
    bank = db.session().get_one(Bank, hook.bank_id)
    return {"id": hook.id, "bank": bank.code, "url": hook.url, "events": hook.event_types,
            "created_at": _text(hook.created_at), "created_by": hook.created_by, "deleted_at": _text(hook.deleted_at),
            "previous_secret_expires_at": _text(hook.previous_secret_expires_at) if hook.previous_secret else None,
            "pending": counts.get((hook.id, "pending"), 0), "failed": counts.get((hook.id, "failed"), 0)}


def _own_bank_id() -> int:
    bank_id = current_user().bank_id
    assert bank_id is not None, "a bank user always acts for a bank"
    return bank_id


@blp.route("")
class Webhooks(MethodView):
    @require_roles("bank")
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookSecretOut)
    def post(self, data):  # type: ignore[no-untyped-def]
        """Register a webhook; the answer holds its signing secret, shown this once."""
        hook = webhooks.create_webhook(db.session(), bank_id=_own_bank_id(), url=data["url"],
                                       event_types=data["events"], policy=url_policy(), actor=actor_name())
        return {**_out(hook), "secret": hook.secret}

    @require_roles(*OWNER_OR_BUREAU)
    @blp.arguments(WebhookQuery, location="query")
    @blp.response(200, page_schema(WebhookOut, "WebhookPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """List webhooks (a bank: its own; bureau and auditors: every bank's, with failure counts)."""
        stmt = select(Webhook)
        own = bank_id_of_caller()
        if own is not None:
            stmt = stmt.where(Webhook.bank_id == own)
        elif query.get("bank"):
            stmt = stmt.join(Bank, Bank.id == Webhook.bank_id).where(Bank.code == query["bank"])
        session = db.session()
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        hooks = session.scalars(stmt.order_by(Webhook.id).offset((query["page"] - 1) * query["per_page"])
                                .limit(query["per_page"])).all()
        counts = _counts([h.id for h in hooks])
        return envelope([_out(h, counts) for h in hooks], query, total)


@blp.route("/<int:webhook_id>")
class WebhookItem(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.response(200, WebhookOut)
    def get(self, webhook_id: int):  # type: ignore[no-untyped-def]
        """A webhook (a bank: its own only)."""
        return _out(webhooks.get_webhook(db.session(), webhook_id, bank_id=bank_id_of_caller()))

    @require_roles("bank")
    @blp.response(204)
    def delete(self, webhook_id: int):  # type: ignore[no-untyped-def]
        """Delete a webhook: nothing more is delivered to it; its delivery log stays readable."""
        hook = webhooks.get_webhook(db.session(), webhook_id, bank_id=_own_bank_id(), lock=True)
        webhooks.delete_webhook(db.session(), hook, actor=actor_name())


@blp.route("/<int:webhook_id>/rotate-secret")
class WebhookRotation(MethodView):
    @require_roles("bank")
    @blp.response(200, WebhookSecretOut)
    def post(self, webhook_id: int):  # type: ignore[no-untyped-def]
        """A new signing secret (shown once); the old one also signs for 24 hours more."""
        hook = webhooks.get_webhook(db.session(), webhook_id, bank_id=_own_bank_id(), lock=True)
        webhooks.rotate_secret(db.session(), hook, actor=actor_name())
        return {**_out(hook), "secret": hook.secret}


@blp.route("/<int:webhook_id>/ping")
class WebhookPing(MethodView):
    @require_roles("bank")
    @blp.response(202, PingOut)
    def post(self, webhook_id: int):  # type: ignore[no-untyped-def]
        """Queue a signed ``webhook.ping`` event to this webhook (delivered by the worker)."""
        hook = webhooks.get_webhook(db.session(), webhook_id, bank_id=_own_bank_id())
        return {"event_id": webhooks.ping(db.session(), hook, actor=actor_name()).public_id}


@blp.route("/<int:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, page_schema(DeliveryOut, "WebhookDeliveryPage"))
    def get(self, query, webhook_id: int):  # type: ignore[no-untyped-def]
        """The delivery log, newest first: each attempt's answer and latency."""
        session = db.session()
        hook = webhooks.get_webhook(session, webhook_id, bank_id=bank_id_of_caller())
        stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
        if query.get("status"):
            stmt = stmt.where(WebhookDelivery.status == query["status"])
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(WebhookDelivery.id.desc())
                               .offset((query["page"] - 1) * query["per_page"]).limit(query["per_page"])).all()
        attempts: dict[int, list[WebhookAttempt]] = {}
        if rows:
            for attempt in session.scalars(select(WebhookAttempt).where(
                    WebhookAttempt.delivery_id.in_([r.id for r in rows])).order_by(WebhookAttempt.id)):
                attempts.setdefault(attempt.delivery_id, []).append(attempt)
        items = [{
            "id": r.id, "event_id": r.event.public_id, "event_type": r.event.type, "status": r.status,
            "created_at": _text(r.created_at), "delivered_at": _text(r.delivered_at),
            "next_attempt_at": _text(r.next_attempt_at) if r.status == "pending" else None,
            "attempts": [{"attempted_at": _text(a.attempted_at), "status_code": a.status_code,
                          "latency_ms": a.latency_ms, "error": a.error} for a in attempts.get(r.id, [])],
        } for r in rows]
        return envelope(items, query, total)
