"""The webhook worker: delivers due deliveries, at least once (SPEC §4a).

Each round claims a few due deliveries in a short transaction — ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several workers take disjoint rows — and stamps them with
a lease. The HTTP POSTs happen outside any transaction; each result is recorded in a
transaction of its own. A worker killed mid-delivery leaves its lease to run out,
after which any worker takes the delivery again: nothing is lost, and a receiver
de-duplicates on the ``Idempotency-Key`` (the event's id).
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import clock, events
from .models import WebhookAttempt, WebhookDelivery, WebhookFanout
from .models.base import utcnow
from .webhooks import (RETRY_WINDOW, SIGNATURE_HEADER, UnsafeAddress, UrlPolicy, fan_out, resolve, retry_delay,
                       signature_header)

log = logging.getLogger(__name__)
USER_AGENT = "RCL-Webhooks/1"


@dataclass(frozen=True)
class WorkerSettings:
    policy: UrlPolicy = field(default_factory=UrlPolicy)
    #: Seconds for the whole POST (connect, send, first byte of the answer).
    timeout: float = 10.0
    #: A claimed delivery is this worker's for so long; longer than a batch takes.
    lease: timedelta = timedelta(seconds=60)
    #: Deliveries claimed per round (capped so that a round fits in its lease).
    batch: int = 5
    #: Seconds between polls when nothing is due (the loop, not --once).
    poll_interval: float = 2.0
    #: Config BUSINESS_DATE: the ledger's today for the report checks (ledger.clock).
    business_date: str | None = None
    #: How often the worker looks for monthly reports gone missing (report.missing).
    report_check_interval: timedelta = timedelta(hours=1)

    @property
    def claim_size(self) -> int:
        return max(1, min(self.batch, int(self.lease.total_seconds() // (self.timeout + 1))))


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def event_bytes(body: dict) -> bytes:  # type: ignore[type-arg]
    """The delivered body: compact JSON, UTF-8 — the exact bytes that are signed."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Worker:
    def __init__(self, sessions: sessionmaker[Session], settings: WorkerSettings | None = None, *,
                 name: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, client: httpx.Client | None = None) -> None:
        self.sessions = sessions
        self.settings = settings or WorkerSettings()
        self.name = name or worker_name()
        self.clock = clock
        self.rng = rng or random.Random()
        self._reports_checked: float | None = None
        # No redirects (a 3xx could point anywhere, past the address check), no proxy
        # from the environment (it would connect to other addresses than the checked one).
        self.client = client or httpx.Client(timeout=httpx.Timeout(self.settings.timeout, connect=5.0),
                                             follow_redirects=False, trust_env=False,
                                             headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    # -- claiming -------------------------------------------------------------------

    def flag_missing_reports(self) -> int:
        """Record ``report.missing`` for reports past due; one worker at a time does it."""
        from .loan_reports import flag_missing_reports

        self._reports_checked = time.monotonic()
        with self.sessions() as session, session.begin():
            held = session.scalar(select(WebhookFanout.id).where(WebhookFanout.id == 1)
                                  .with_for_update(skip_locked=True))
            if held is None:
                return 0  # another worker is at it (or no fan-out happened yet: next round)
            return flag_missing_reports(session, today=clock.today(self.settings.business_date))

    def _reports_due(self) -> bool:
        last = self._reports_checked
        return last is None or time.monotonic() - last >= self.settings.report_check_interval.total_seconds()

    def fan_out(self) -> int:
        """Turn newly committed events into deliveries (see ledger.webhooks.fan_out)."""
        try:
            with self.sessions() as session, session.begin():
                return fan_out(session, now=self.clock())
        except IntegrityError:
            return 0  # two workers created the cursor row at once; the next round goes on

    def claim(self) -> list[WebhookDelivery]:
        """Take up to ``claim_size`` due deliveries under a lease; returns them (detached,
        with their webhook and event loaded, so delivering reads nothing more)."""
        self.fan_out()
        now = self.clock()
        with self.sessions() as session, session.begin():
            ids = list(session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                       or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(self.settings.claim_size)
                .with_for_update(skip_locked=True)
            ))
            if not ids:
                return []
            session.execute(update(WebhookDelivery.__table__).where(WebhookDelivery.id.in_(ids))
                            .values(lease_until=now + self.settings.lease, lease_owner=self.name))
            claimed = list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                                           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)))
            session.expunge_all()
        return claimed

    # -- one delivery -------------------------------------------------------------------

    def deliver(self, delivery: WebhookDelivery) -> Outcome | None:
        delivery_id, hook, event = delivery.id, delivery.webhook, delivery.event
        if hook.deleted_at is not None:
            self._finish(delivery_id, None)
            return None
        now = self.clock()
        body = event_bytes(events.body(event))
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(hook, timestamp, body, now=now),
            # The event's id: the same on every retry and every webhook.
            "Idempotency-Key": event.public_id,
            "X-RCL-Event-Type": event.type,
            "X-RCL-Delivery": str(delivery_id),
        }
        outcome = self.post(hook.url, body, headers)
        self._finish(delivery_id, outcome)
        return outcome

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST to the address the URL's host resolves to *now*, checked, and pinned."""
        started = time.monotonic()

        def done(status: int | None, error: str | None) -> Outcome:
            return Outcome(status, int((time.monotonic() - started) * 1000), error)

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = resolve(host, port, self.settings.policy)[0]
        except UnsafeAddress as exc:
            return done(None, f"refused: {exc}")
        # Connect to the checked address; the Host header and TLS (SNI and the
        # certificate's name) still use the URL's host name.
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            with self.client.stream("POST", pinned, content=body, headers={**headers, "Host": parts.netloc},
                                    extensions=extensions) as response:
                # The answer's body is not read: a receiver owes us a status only.
                return done(response.status_code, None if response.is_success else f"HTTP {response.status_code}")
        except httpx.TimeoutException:
            return done(None, f"timeout after {self.settings.timeout:g} s")
        except httpx.HTTPError as exc:
            return done(None, f"{type(exc).__name__}: {exc}"[:500])

    def _finish(self, delivery_id: int, outcome: Outcome | None) -> None:
        now = self.clock()
        with self.sessions() as session, session.begin():
            delivery = session.scalars(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                                       .with_for_update(of=WebhookDelivery)).one()
            if outcome is None:  # the webhook was deleted meanwhile
                if delivery.status == "pending":
                    delivery.status, delivery.lease_until, delivery.lease_owner = "cancelled", None, None
                return
            session.add(WebhookAttempt(delivery_id=delivery_id, attempted_at=now, status_code=outcome.status_code,
                                       latency_ms=outcome.latency_ms, error=outcome.error, worker=self.name))
            if delivery.status != "pending":
                return  # delivered by another worker after our lease ran out, or cancelled
            ours = delivery.lease_owner == self.name
            delivery.attempts += 1
            delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
            if outcome.ok:
                delivery.status, delivery.delivered_at = "delivered", now
            elif ours:
                retry_at = now + retry_delay(delivery.attempts, self.rng)
                created = delivery.created_at if delivery.created_at.tzinfo else delivery.created_at.replace(tzinfo=now.tzinfo)
                if retry_at > created + RETRY_WINDOW:
                    delivery.status = "failed"
                delivery.next_attempt_at = retry_at
            else:
                return  # another worker holds it now and schedules it
            delivery.lease_until, delivery.lease_owner = None, None

    # -- loops ------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver everything due now; returns how many attempts were made."""
        made = 0
        self.fan_out()
        if self._reports_due():
            self.flag_missing_reports()
        while not (stop and stop.is_set()):
            claimed = self.claim()
            if not claimed:
                break
            for n, delivery in enumerate(claimed):
                if stop and stop.is_set():
                    self._release([d.id for d in claimed[n:]])
                    return made
                if self.deliver(delivery) is not None:
                    made += 1
        return made

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set (SIGTERM): the delivery in flight is finished first."""
        while not stop.is_set():
            try:
                made = self.run_once(stop)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("webhook worker round failed; retrying")
                made = 0
            if not made:
                stop.wait(self.settings.poll_interval)

    def _release(self, ids: list[int]) -> None:
        """Give back deliveries claimed but not attempted (stopping), for other workers now."""
        with self.sessions() as session, session.begin():
            session.execute(update(WebhookDelivery.__table__)
                            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lease_owner == self.name)
                            .values(lease_until=None, lease_owner=None))
