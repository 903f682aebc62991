"""Banks' webhooks: registration, address safety, signatures and retry schedule (SPEC §4a).

A delivery is signed like Stripe's: ``X-RCL-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>" keyed with the webhook's secret>``; after a rotation the
old secret signs too (a second ``v1=``) for :data:`PREVIOUS_SECRET_GRACE`, so a bank
can switch its receiver over without dropping events.

Addresses are checked twice: when the webhook is registered and again at every
delivery, where the connection is made to the very address that passed the check
(ledger.delivery), so a name that re-resolves to 127.0.0.1 between check and connect
(DNS rebinding) reaches nothing inside the bureau's network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from . import audit, events
from .errors import NotFound, ValidationFailed
from .models import Event, Webhook, WebhookDelivery, WebhookFanout
from .models.base import utcnow

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "X-RCL-Signature"
#: A rotated-out secret keeps signing for this long.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
#: Retries stop, and the delivery is marked failed, this long after the event.
RETRY_WINDOW = timedelta(hours=24)
#: First retry after about this long, doubling each time up to RETRY_CAP.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=2)
MAX_WEBHOOKS_PER_BANK = 10


@dataclass(frozen=True)
class UrlPolicy:
    """``allow_private``: config WEBHOOK_ALLOW_PRIVATE (tests, a bank inside one network);
    ``require_https``: config WEBHOOK_REQUIRE_HTTPS."""

    allow_private: bool = False
    require_https: bool = True


class UnsafeAddress(Exception):
    """The URL's host is or resolves to an address webhooks must not reach."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# -- addresses ------------------------------------------------------------------------------


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="webhook_url_refused", errors={"url": [message]})


def check_url(url: str, policy: UrlPolicy) -> None:
    """Refuse what a webhook URL may not be (422 ``webhook_url_refused`` naming ``url``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused("The URL is not valid.") from None
    schemes = ("https",) if policy.require_https else ("https", "http")
    if parts.scheme not in schemes:
        raise _refused(f"The URL must start with {' or '.join(s + '://' for s in schemes)}.")
    if not parts.hostname:
        raise _refused("The URL has no host.")
    if parts.username or parts.password:
        raise _refused("Credentials in the URL are not allowed; verify our signature instead.")
    if parts.fragment:
        raise _refused("The URL may not have a #fragment.")
    try:
        resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80), policy)
    except UnsafeAddress as exc:
        raise _refused(str(exc)) from None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global is False for private, loopback, link-local (169.254/16, the cloud
    # metadata service), shared (100.64/10), reserved and unspecified ranges.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int, policy: UrlPolicy) -> list[str]:
    """Every address ``host`` resolves to, all checked; raises UnsafeAddress."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddress(f"The host {host} does not resolve ({exc}).") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not policy.allow_private:
        for text in addresses:
            if not is_public(ipaddress.ip_address(text.split("%")[0])):
                raise UnsafeAddress(f"The host {host} resolves to {text}, a private, loopback or link-local address.")
    if not addresses:
        raise UnsafeAddress(f"The host {host} does not resolve.")
    return addresses


# -- signatures ------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def signature_header(hook: Webhook, timestamp: int, body: bytes, *, now: datetime) -> str:
    parts = [f"t={timestamp}", f"v1={sign(hook.secret, timestamp, body)}"]
    expires = hook.previous_secret_expires_at
    if hook.previous_secret and expires is not None and _aware(expires) > now:
        parts.append(f"v1={sign(hook.previous_secret, timestamp, body)}")
    return ",".join(parts)


def _aware(moment: datetime) -> datetime:
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- retries ------------------------------------------------------------------------------------


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential back-off with jitter after the ``attempts``-th failure.

    The delay doubles from RETRY_BASE up to RETRY_CAP; a random half of it is
    dropped so that receivers coming back after an outage are not hit by every
    retry at the same second.
    """
    ceiling = min(RETRY_BASE * (2 ** min(attempts - 1, 20)), RETRY_CAP)
    return ceiling * (rng or random).uniform(0.5, 1.0)


# -- registration ---------------------------------------------------------------------------------


def _types(event_types: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [t for t in chosen if t != "*" and t not in events.EVENT_TYPES]
    if not chosen or unknown:
        raise ValidationFailed("Name event types from the list, or \"*\" for all.", code="unknown_event_type",
                               errors={"events": [f"unknown: {t}" for t in unknown] or ["at least one type"]})
    return ["*"] if "*" in chosen else sorted(chosen)


def create_webhook(session: Session, *, bank_id: int, url: str, event_types: Sequence[str], policy: UrlPolicy,
                   actor: str) -> Webhook:
    """Register a webhook; its secret is readable from the returned row this once."""
    types = _types(event_types)
    check_url(url, policy)
    live = session.scalars(select(Webhook.id).where(Webhook.bank_id == bank_id, Webhook.deleted_at.is_(None))).all()
    if len(live) >= MAX_WEBHOOKS_PER_BANK:
        raise ValidationFailed(f"A bank may have at most {MAX_WEBHOOKS_PER_BANK} webhooks.",
                               code="too_many_webhooks", errors={"url": ["delete one first"]})
    hook = Webhook(bank_id=bank_id, url=url, event_types=types, secret=new_secret(), created_by=actor)
    session.add(hook)
    session.flush()
    audit.record(session, actor=actor, action="webhook.create", entity_type="webhook", entity_id=hook.id,
                 after={"bank_id": bank_id, "url": url, "events": types})
    return hook


def get_webhook(session: Session, webhook_id: int, *, bank_id: int | None, lock: bool = False) -> Webhook:
    """The webhook, or 404 — also another bank's (never confirm it exists)."""
    query = select(Webhook).where(Webhook.id == webhook_id)
    if lock:
        query = query.with_for_update()
    hook = session.scalar(query)
    if hook is None or (bank_id is not None and hook.bank_id != bank_id):
        raise NotFound(f"No webhook {webhook_id}.", code="webhook_not_found")
    return hook


def _live(hook: Webhook) -> None:
    if hook.deleted_at is not None:
        raise NotFound(f"Webhook {hook.id} was deleted.", code="webhook_not_found")


def delete_webhook(session: Session, hook: Webhook, *, actor: str) -> None:
    """Stop deliveries to the webhook; its delivery log stays readable."""
    _live(hook)
    hook.deleted_at = utcnow()
    session.execute(update(WebhookDelivery.__table__)
                    .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "pending")
                    .values(status="cancelled", lease_until=None, lease_owner=None))
    session.flush()
    audit.record(session, actor=actor, action="webhook.delete", entity_type="webhook", entity_id=hook.id,
                 after={"url": hook.url})


def rotate_secret(session: Session, hook: Webhook, *, actor: str) -> Webhook:
    """A new secret; the old one keeps signing (second ``v1=``) for PREVIOUS_SECRET_GRACE."""
    _live(hook)
    hook.previous_secret = hook.secret
    hook.previous_secret_expires_at = utcnow() + PREVIOUS_SECRET_GRACE
    hook.secret = new_secret()
    session.flush()
    audit.record(session, actor=actor, action="webhook.rotate_secret", entity_type="webhook", entity_id=hook.id,
                 after={"previous_secret_expires_at": hook.previous_secret_expires_at})
    return hook


def ping(session: Session, hook: Webhook, *, actor: str) -> events.PendingEvent:
    """Record a ``webhook.ping`` event, which the worker delivers to this webhook alone."""
    _live(hook)
    return events.record_event(session, events.PING, hook.bank_id, {"webhook_id": hook.id, "requested_by": actor})


# -- fan-out ---------------------------------------------------------------------------------------


def _wants(hook: Webhook, row: Event) -> bool:
    if row.type == events.PING:
        return hook.id == row.data.get("webhook_id")
    # A webhook receives what happened after it was registered.
    return ("*" in hook.event_types or row.type in hook.event_types) and _aware(hook.created_at) <= _aware(row.occurred_at)


def fan_out(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Queue deliveries for committed events past the fan-out cursor; returns how many.

    The feed is in commit order, so a cursor over it misses nothing. One worker fans
    out at a time (the cursor row is locked; others skip it on PostgreSQL); the
    unique (webhook, event) pair would refuse a second delivery anyway.
    """
    cursor = session.scalar(select(WebhookFanout).where(WebhookFanout.id == 1).with_for_update(skip_locked=True))
    if cursor is None:
        if session.scalar(select(WebhookFanout.id).where(WebhookFanout.id == 1)) is not None:
            return 0  # another worker holds it
        cursor = WebhookFanout(id=1, position=0)
        session.add(cursor)
        session.flush()
    rows = session.scalars(select(Event).where(Event.position > cursor.position).order_by(Event.position)
                           .limit(limit)).all()
    if not rows:
        return 0
    bank_ids = {row.bank_id for row in rows if row.bank_id is not None}
    hooks = session.scalars(select(Webhook).where(Webhook.bank_id.in_(bank_ids), Webhook.deleted_at.is_(None))
                            .order_by(Webhook.id)).all() if bank_ids else []
    deliveries = [{"webhook_id": hook.id, "event_id": row.id, "status": "pending", "attempts": 0, "created_at": now,
                   "next_attempt_at": now}
                  for row in rows for hook in hooks if hook.bank_id == row.bank_id and _wants(hook, row)]
    if deliveries:
        session.execute(insert(WebhookDelivery.__table__), deliveries)
    cursor.position = rows[-1].position  # type: ignore[assignment]
    session.flush()
    return len(deliveries)
