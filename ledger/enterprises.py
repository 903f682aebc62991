"""Borrowers: register, link, read and explicitly change enterprises (SPEC §2, issue 4).

An enterprise is one row per unified social credit code, shared by every bank that
lends to it; :class:`~ledger.models.EnterpriseBank` records which banks registered it,
and only those banks may see it (isolation: another bank gets a 404, never a 403).

Registering is idempotent: the same code with the same name, region and categories is
a no-op. A bank that registered the enterprise and sends other data gets
``enterprise_differs`` naming the fields (of its own record) — data changes only
through :func:`change_enterprise`, which is audited with before and after. Loans keep
the region and categories they were registered with, so a change never alters an
existing loan's compensation.

Shared master data (SPEC §4). The name, region and categories are shared by every bank
that lends to the enterprise; a bank may change them only while no *other* bank has
registered a (not cancelled) loan to it. And a bank never learns from an answer
whether another bank knows the enterprise or what it recorded. Hence:

- A bank's first registration of a code is answered exactly as for a new enterprise
  (201 ``created``, echoing its own data), whether or not another bank registered it:
  identical data links it; different data replaces the master data when no other bank
  lends to the enterprise (an audited ``enterprise.change``), and otherwise is kept as
  the bank's own record, ``EnterpriseBank.requested`` — a request for the bureau.
- What a bank reads of an enterprise is its own pending record while it has no loan to
  it, else the master data (what its loans are registered and compensated on: a bank
  that lends learns the data its compensation will follow; only a real, audited loan
  shows it).
- A change (``PUT``) by a bank: applied when no other bank lends; otherwise kept as
  its request for the bureau — answered 200 with its record while the bank has no loan
  to the enterprise (nothing to tell it apart from an applied change), and 409
  ``enterprise_shared`` once it lends there too (SPEC §4: the change goes to the bureau).
- The bureau (``fund_admin``) changes the master data directly, lists the pending
  requests and applies or rejects each (:func:`decide_request`).

:class:`EnterpriseBook` is the registration engine: it batches reads and defers
writes, so that the bulk upload registers thousands of rows with a handful of
statements through the very same checks as a single API call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, BigInteger, String, bindparam, case, cast, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules import Violation
from rules.regions import region_problem, unknown_region_problem

from . import audit, creditcode
from .db import allocate_ids, insert_rows, is_postgresql
from .errors import AlreadyExists, NotFound, ValidationFailed
from .models import Bank, Enterprise, EnterpriseBank, Loan, RuleVersion
from .models.base import utcnow

#: SPEC §2's categories with their Chinese names (rules may name further ones).
KNOWN_CATEGORIES = {
    "tech_sme": "科技型中小企业",
    "high_tech": "高新技术企业",
    "agri_tech": "农业类科技企业",
    "specialized_town": "专业镇内企业",
}
CATEGORY_RE = re.compile(r"^[a-z_]{2,40}\Z")
NAME_MAX = 200

_enterprises = Enterprise.__table__
_links = EnterpriseBank.__table__


@dataclass(frozen=True)
class EnterpriseData:
    """A validated registration: normalised code, trimmed name, sorted categories."""

    credit_code: str
    name: str
    region: str
    categories: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"credit_code": self.credit_code, "name": self.name, "region": self.region,
                "categories": list(self.categories)}

    def differences(self, other: EnterpriseData) -> list[str]:
        found = []
        if self.name != other.name:
            found.append("name")
        if self.region != other.region:
            found.append("region")
        if self.categories != other.categories:
            found.append("categories")
        return found


def rule_categories(session: Session) -> frozenset[str]:
    """Categories named by any published rule version (uplifts and eligibility)."""
    names: set[str] = set()
    for document in session.scalars(select(RuleVersion.document)):
        names.update((document.get("uplifts") or {}).keys())
        names.update((document.get("eligibility") or {}).get("categories_any") or ())
    return frozenset(names)


def allowed_categories(session: Session) -> frozenset[str]:
    return frozenset(KNOWN_CATEGORIES) | rule_categories(session)


def check_enterprise(
    *, credit_code: object, name: object, region: object, categories: object, allowed: frozenset[str]
) -> tuple[EnterpriseData | None, list[Violation]]:
    """Validate a registration; every problem at once, each with a stable code."""
    found: list[Violation] = []
    code_problem = creditcode.problem(credit_code)
    if code_problem is not None:
        found.append(Violation(code_problem.code, "credit_code", code_problem.message))
    clean_name = name.strip() if isinstance(name, str) else ""
    if not clean_name:
        found.append(Violation("required", "name", "the enterprise's registered name is required"))
    elif len(clean_name) > NAME_MAX:
        found.append(Violation("too_long", "name", f"at most {NAME_MAX} characters"))
    where = unknown_region_problem(region)
    if where is not None:
        code = "invalid_region" if region_problem(region) is not None else "unknown_region"
        found.append(Violation(code, "region", where))
    clean_categories: set[str] = set()
    if not isinstance(categories, (list, tuple)) or not all(isinstance(c, str) for c in categories):
        found.append(Violation("invalid_categories", "categories", "a list of category names"))
    else:
        for category in categories:
            category = category.strip()
            if not CATEGORY_RE.match(category):
                found.append(Violation("invalid_category", "categories",
                                       f"'{category}' is not a category name (2-40 of a-z and _)"))
            elif category not in allowed:
                found.append(Violation("unknown_category", "categories",
                                       f"unknown category '{category}': use one of {', '.join(sorted(allowed))}"))
            else:
                clean_categories.add(category)
    if found:
        return None, found
    assert isinstance(credit_code, str) and isinstance(region, str)
    return EnterpriseData(creditcode.normalise(credit_code), clean_name, region, tuple(sorted(clean_categories))), []


def invalid(violations: Sequence[Violation], message: str = "The enterprise is invalid.") -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for v in violations:
        errors.setdefault(v.field, []).append(v.message)
    # A well-formed code missing from the table has its own stable code (SPEC §2).
    code = {"code": "unknown_region"} if {v.code for v in violations} == {"unknown_region"} else {}
    return ValidationFailed(message, errors=errors, details=[v.__dict__ for v in violations], **code)


def data_of(enterprise: Enterprise) -> EnterpriseData:
    return EnterpriseData(enterprise.credit_code, enterprise.name, enterprise.region, tuple(enterprise.categories))


def data_from(record: dict[str, Any], credit_code: str) -> EnterpriseData:
    return EnterpriseData(credit_code, record["name"], record["region"], tuple(record["categories"]))


def others_lend_to(enterprise_id: Any, bank_id: Any) -> Any:
    """SQL: another bank has registered a (not cancelled) loan to the enterprise."""
    return (select(Loan.id).where(Loan.enterprise_id == enterprise_id, Loan.bank_id != bank_id,
                                  Loan.status != "cancelled").exists())


def _others_lending(session: Session, ids: Sequence[int], bank_id: int) -> set[int]:
    """Which of these enterprises another bank has lent to (:func:`others_lend_to`).

    On PostgreSQL each id probes the loans' enterprise index once (``LATERAL … LIMIT
    1``). As an EXISTS beside the enterprise query, the planner trusted the statistics
    of a book that is mostly this bank's (its own first big upload: "no loan is another
    bank's") and scanned every loan for each batch of a bulk upload.
    """
    if not ids:
        return set()
    if not is_postgresql(session):
        return set(session.scalars(select(Enterprise.id).where(Enterprise.id.in_(ids),
                                                               others_lend_to(Enterprise.id, bank_id))))
    wanted = func.unnest(bindparam("enterprise_ids", list(ids), type_=ARRAY(BigInteger))).table_valued("id") \
        .render_derived()
    lent = (select(Loan.id).where(Loan.enterprise_id == wanted.c.id, Loan.bank_id != bank_id,
                                  Loan.status != "cancelled").limit(1).lateral())
    return set(session.scalars(select(wanted.c.id).join(lent, true())))


def bank_lends_to(enterprise_id: Any, bank_id: Any) -> Any:
    """SQL: this bank has registered a (not cancelled) loan to the enterprise."""
    return (select(Loan.id).where(Loan.enterprise_id == enterprise_id, Loan.bank_id == bank_id,
                                  Loan.status != "cancelled").exists())


@dataclass
class EnterpriseState:
    """What the book knows of one code: stored (``id`` set) or to be written."""

    #: The master data (what loans are registered on).
    data: EnterpriseData
    id: int | None
    #: Whether the book's bank is (or is about to be) linked to it.
    linked: bool
    new: bool = False
    link_pending: bool = False
    #: Another bank has registered a loan to it: this bank may not change it.
    others_lend: bool = False
    #: The bank's own record where it differs and may not be applied (a request).
    own: EnterpriseData | None = None
    #: Master data as it was before this bank's registration replaced it (to audit).
    replaced: EnterpriseData | None = None

    @property
    def view(self) -> EnterpriseData:
        """What the book's bank sees (before it lends): its own record, else the master."""
        return self.own or self.data


@dataclass
class EnterpriseBook:
    """Enterprise registrations of one bank within one database transaction.

    Reads are batched (:meth:`preload`), writes deferred (:meth:`write`); :meth:`mark`
    and :meth:`restore` undo the plans of a row that failed later on, so a bulk row is
    all or nothing. Caches are valid only while the transaction lasts.
    """

    session: Session
    bank_id: int
    actor: str
    _known: dict[str, EnterpriseState | None] = field(default_factory=dict)
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _allowed: frozenset[str] | None = None

    @property
    def allowed_categories(self) -> frozenset[str]:
        if self._allowed is None:
            self._allowed = allowed_categories(self.session)
        return self._allowed

    def preload(self, codes: Iterable[str]) -> None:
        wanted = {c for c in codes if c not in self._known}
        if not wanted:
            return
        rows = self.session.execute(
            select(Enterprise.id, Enterprise.credit_code, Enterprise.name, Enterprise.region, Enterprise.categories,
                   EnterpriseBank.bank_id, EnterpriseBank.requested)
            .outerjoin(EnterpriseBank, (EnterpriseBank.enterprise_id == Enterprise.id)
                       & (EnterpriseBank.bank_id == self.bank_id))
            .where(Enterprise.credit_code.in_(wanted))
        ).all()
        others = _others_lending(self.session, [row.id for row in rows], self.bank_id)
        for row in rows:
            data = EnterpriseData(row.credit_code, row.name, row.region, tuple(row.categories))
            own = data_from(row.requested, row.credit_code) if row.requested else None
            self._known[row.credit_code] = EnterpriseState(data, row.id, linked=row.bank_id is not None,
                                                           others_lend=row.id in others, own=own)
        for code in wanted:
            self._known.setdefault(code, None)

    def lookup(self, code: str) -> EnterpriseState | None:
        """The enterprise as this bank may see it: None unless it is linked."""
        if code not in self._known:
            self.preload([code])
        state = self._known[code]
        return state if state is not None and state.linked else None

    def mark(self) -> int:
        return len(self._undo)

    def restore(self, mark: int) -> None:
        while len(self._undo) > mark:
            self._undo.pop()()

    def register(self, data: EnterpriseData) -> str:
        """Plan a registration: ``created`` (this bank's first) or ``unchanged``.

        Whether another bank registered the code first changes what is written (a link,
        a change of the master data or a request for the bureau), never the answer.
        """
        if data.credit_code not in self._known:
            self.preload([data.credit_code])
        state = self._known[data.credit_code]
        if state is None:
            self._known[data.credit_code] = EnterpriseState(data, None, linked=True, new=True)
            self._undo.append(lambda: self._known.__setitem__(data.credit_code, None))
            return "created"
        if not state.linked:
            return self._first_registration(state, data)
        differing = state.view.differences(data)
        if differing:
            # The bank's own registration: the fields named are of its own record.
            raise AlreadyExists(
                f"Enterprise {data.credit_code} is registered with a different {', '.join(differing)}; "
                "change it explicitly with PUT /api/v1/enterprises/{credit_code}.",
                code="enterprise_differs",
                errors={name: ["differs from the registered enterprise"] for name in differing},
                details=[{"code": "enterprise_differs", "field": name,
                          "message": "differs from the registered enterprise"} for name in differing],
                extra={"differing_fields": differing},
            )
        return "unchanged"

    def _first_registration(self, state: EnterpriseState, data: EnterpriseData) -> str:
        saved = (state.data, state.own, state.replaced)
        if state.data.differences(data):
            if state.others_lend:
                state.own = data  # kept as the bank's request; the master data stays
            else:
                state.replaced, state.data = state.data, data
        state.linked, state.link_pending = True, True

        def undo() -> None:
            state.linked, state.link_pending = False, False
            state.data, state.own, state.replaced = saved

        self._undo.append(undo)
        return "created"

    def write(self) -> None:
        """Insert planned enterprises and links; raises IntegrityError on a lost race."""
        new = [s for s in self._known.values() if s is not None and s.new and s.id is None]
        links = [s for s in self._known.values() if s is not None and (s.new or s.link_pending)]
        if not new and not links:
            return
        now = utcnow()
        if new:
            # Ids allocated up front, then a plain executemany (see ledger.db.allocate_ids).
            for state, new_id in zip(new, allocate_ids(self.session, _enterprises, len(new)), strict=True):
                state.id = new_id
            insert_rows(self.session, _enterprises, [
                {"id": s.id, **s.data.as_dict(), "created_at": now, "updated_at": now} for s in new])
        insert_rows(self.session, _links, [
            {"enterprise_id": s.id, "bank_id": self.bank_id, "created_at": now,
             "requested": _record(s.own) if s.own else None, "requested_at": now if s.own else None}
            for s in links])
        bank = bank_code(self.session, self.bank_id)
        for state in links:
            if state.new:
                audit.record(self.session, actor=self.actor, action="enterprise.register", entity_type="enterprise",
                             entity_id=state.data.credit_code, after={**state.data.as_dict(), "bank": bank})
                continue
            audit.record(self.session, actor=self.actor, action="enterprise.link", entity_type="enterprise",
                         entity_id=state.data.credit_code, after={"bank": bank})
            if state.replaced is not None:
                _apply_change(self.session, state.id, state.replaced, state.data, actor=self.actor,
                              reason="registration", bank=bank)
            if state.own is not None:
                audit.record(self.session, actor=self.actor, action="enterprise.change_requested",
                             entity_type="enterprise", entity_id=state.data.credit_code,
                             after={**_record(state.own), "reason": "registration", "bank": bank})
        for state in links:
            state.new = state.link_pending = False
            state.replaced = None
        self._undo.clear()  # written: nothing to undo any more


def _record(data: EnterpriseData) -> dict[str, Any]:
    """A bank's own record as stored in ``EnterpriseBank.requested``."""
    return {"name": data.name, "region": data.region, "categories": list(data.categories)}


def _apply_change(session: Session, enterprise_id: int | None, before: EnterpriseData, after: EnterpriseData, *,
                  actor: str, reason: str | None, bank: str | None) -> list[str]:
    """Write new master data and its audit entry (the differing fields only)."""
    differing = before.differences(after)
    if not differing:
        return []
    session.execute(update(_enterprises).where(_enterprises.c.id == enterprise_id).values(
        name=after.name, region=after.region, categories=list(after.categories), updated_at=utcnow()))
    audit.record(session, actor=actor, action="enterprise.change", entity_type="enterprise",
                 entity_id=after.credit_code,
                 before={k: before.as_dict()[k] for k in differing},
                 after={**{k: after.as_dict()[k] for k in differing}, "reason": reason, "bank": bank})
    return differing


_BANK_CODES = "ledger_bank_codes"


def bank_code(session: Session, bank_id: int) -> str:
    """A bank's code, cached for the session (bank codes never change)."""
    cache = session.info.setdefault(_BANK_CODES, {})
    if bank_id not in cache:
        cache[bank_id] = session.scalar(select(Bank.code).where(Bank.id == bank_id))
    return cache[bank_id]


def register_enterprise(
    session: Session, *, bank_id: int, credit_code: object, name: object, region: object, categories: object,
    actor: str,
) -> tuple[Enterprise, str, EnterpriseData]:
    """Register an enterprise for a bank: ``created`` (its first registration) or
    ``unchanged``; with the data the bank now reads (:func:`view_for`)."""
    for attempt in (1, 2):
        book = EnterpriseBook(session, bank_id=bank_id, actor=actor)
        data, problems = check_enterprise(credit_code=credit_code, name=name, region=region, categories=categories,
                                          allowed=book.allowed_categories)
        if data is None:
            raise invalid(problems)
        outcome = book.register(data)
        try:
            with session.begin_nested():
                book.write()
        except IntegrityError:
            # Another bank registered the same code at the same moment: read it and
            # decide again, as a first registration of a known code.
            if attempt == 2:
                raise
            continue
        state = book._known[data.credit_code]  # noqa: SLF001 - our own book
        assert state is not None and state.id is not None
        enterprise = session.get_one(Enterprise, state.id, populate_existing=True)
        return enterprise, outcome, view_for(session, enterprise, bank_id)
    raise AssertionError("unreachable")


def get_enterprise_for(session: Session, credit_code: str, bank_id: int | None, *, for_update: bool = False) -> Enterprise:
    """The enterprise if ``bank_id`` registered it (None: bureau, sees all); else 404."""
    query = select(Enterprise).where(Enterprise.credit_code == creditcode.normalise(credit_code))
    if bank_id is not None:
        query = query.where(
            select(EnterpriseBank.enterprise_id)
            .where(EnterpriseBank.enterprise_id == Enterprise.id, EnterpriseBank.bank_id == bank_id)
            .exists()
        )
    if for_update:
        query = query.with_for_update()
    enterprise = session.scalar(query)
    if enterprise is None:
        raise NotFound(f"No enterprise {credit_code} registered by this bank." if bank_id is not None
                       else f"No enterprise {credit_code}.", code="enterprise_not_found")
    return enterprise


def _view_columns(bank_id: int) -> tuple[Any, Any, Any]:
    """SQL for what a bank reads: its pending record while it has no loan there, else
    the master data (name, region, categories-as-text)."""
    own = EnterpriseBank.requested.is_not(None) & ~bank_lends_to(Enterprise.id, bank_id)
    return (
        case((own, EnterpriseBank.requested["name"].as_string()), else_=Enterprise.name),
        case((own, EnterpriseBank.requested["region"].as_string()), else_=Enterprise.region),
        case((own, cast(EnterpriseBank.requested["categories"], String)), else_=cast(Enterprise.categories, String)),
    )


def views_for(session: Session, enterprises: Sequence[Enterprise], bank_id: int | None) -> dict[int, EnterpriseData]:
    """What each enterprise reads as for ``bank_id`` (None: the bureau, master data)."""
    views = {e.id: data_of(e) for e in enterprises}
    if bank_id is None or not enterprises:
        return views
    rows = session.execute(
        select(EnterpriseBank.enterprise_id, EnterpriseBank.requested)
        .where(EnterpriseBank.bank_id == bank_id, EnterpriseBank.enterprise_id.in_(views),
               EnterpriseBank.requested.is_not(None), ~bank_lends_to(EnterpriseBank.enterprise_id, bank_id))
    ).all()
    for row in rows:
        views[row.enterprise_id] = data_from(row.requested, views[row.enterprise_id].credit_code)
    return views


def view_for(session: Session, enterprise: Enterprise, bank_id: int | None) -> EnterpriseData:
    return views_for(session, [enterprise], bank_id)[enterprise.id]


def change_enterprise(
    session: Session, credit_code: str, *, bank_id: int | None, name: object, region: object, categories: object,
    actor: str, reason: str | None = None,
) -> tuple[Enterprise, str, EnterpriseData]:
    """The explicit, audited change of name, region and categories (a linked bank or
    the bureau). Returns the enterprise, the outcome and what the caller now reads.

    Outcomes: ``unchanged``; ``changed`` (the master data); ``requested`` (the bank's
    own record, kept for the bureau, while it has no loan there); ``referred`` (the
    same, for a bank that lends there too: the API answers 409 ``enterprise_shared``).
    The row is locked so that two concurrent changes cannot both start from the same
    "before" and lose one of them.
    """
    enterprise = get_enterprise_for(session, credit_code, bank_id, for_update=True)
    data, problems = check_enterprise(credit_code=enterprise.credit_code, name=name, region=region,
                                      categories=categories, allowed=allowed_categories(session))
    if data is None:
        raise invalid(problems)
    master = data_of(enterprise)
    if bank_id is None:
        changed = _apply_change(session, enterprise.id, master, data, actor=actor, reason=reason, bank=None)
        session.refresh(enterprise)
        return enterprise, "changed" if changed else "unchanged", data_of(enterprise)
    link = session.get_one(EnterpriseBank, (enterprise.id, bank_id))
    lends = bool(session.scalar(select(bank_lends_to(enterprise.id, bank_id))))
    seen = data_from(link.requested, master.credit_code) if link.requested and not lends else master
    if not seen.differences(data):
        return enterprise, "unchanged", seen
    bank = bank_code(session, bank_id)
    if not session.scalar(select(others_lend_to(enterprise.id, bank_id))):
        _apply_change(session, enterprise.id, master, data, actor=actor, reason=reason, bank=bank)
        link.requested = link.requested_at = None
        session.flush()
        session.refresh(enterprise)
        return enterprise, "changed", data_of(enterprise)
    link.requested, link.requested_at = _record(data), utcnow()
    session.flush()
    audit.record(session, actor=actor, action="enterprise.change_requested", entity_type="enterprise",
                 entity_id=enterprise.credit_code, after={**_record(data), "reason": reason, "bank": bank})
    if lends:
        return enterprise, "referred", master
    return enterprise, "requested", data


def list_enterprises(
    session: Session, *, bank_id: int | None, page: int, per_page: int, region: str | None = None,
    category: str | None = None,
) -> tuple[list[Enterprise], int]:
    query = select(Enterprise)
    region_col, categories_text = Enterprise.region, cast(Enterprise.categories, String)
    if bank_id is not None:
        query = query.join(EnterpriseBank, (EnterpriseBank.enterprise_id == Enterprise.id)
                           & (EnterpriseBank.bank_id == bank_id))
        # A bank filters on what it reads (its own record where it has one).
        _name, region_col, categories_text = _view_columns(bank_id)
    if region:
        query = query.where(region_col == region)
    if category:
        # Categories are a JSON list of names; its text holds '"name"' exactly when the
        # list does (names are [a-z_]; autoescape keeps '_' from being a wildcard).
        query = query.where(categories_text.contains(f'"{category}"', autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Enterprise.credit_code).limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


def pending_requests(session: Session) -> list[dict[str, Any]]:
    """Banks' records that differ from the master data and wait for the bureau."""
    rows = session.execute(
        select(Enterprise, Bank.code, EnterpriseBank.requested, EnterpriseBank.requested_at)
        .join(EnterpriseBank, EnterpriseBank.enterprise_id == Enterprise.id)
        .join(Bank, Bank.id == EnterpriseBank.bank_id)
        .where(EnterpriseBank.requested.is_not(None))
        .order_by(EnterpriseBank.requested_at, Enterprise.credit_code, Bank.code)
    ).all()
    return [{"credit_code": e.credit_code, "bank": code, "requested": requested, "requested_at": at,
             "current": _record(data_of(e))} for e, code, requested, at in rows]


def decide_request(
    session: Session, credit_code: str, bank: str, *, apply: bool, actor: str, reason: str | None = None,
) -> Enterprise:
    """The bureau applies a bank's pending record to the master data, or rejects it."""
    enterprise = get_enterprise_for(session, credit_code, None, for_update=True)
    link = session.scalar(select(EnterpriseBank).join(Bank, Bank.id == EnterpriseBank.bank_id)
                          .where(EnterpriseBank.enterprise_id == enterprise.id, Bank.code == bank))
    if link is None or link.requested is None:
        raise NotFound(f"No pending change of {enterprise.credit_code} by {bank}.", code="change_request_not_found")
    requested = data_from(link.requested, enterprise.credit_code)
    if apply:
        _apply_change(session, enterprise.id, data_of(enterprise), requested, actor=actor,
                      reason=reason or f"request of {bank}", bank=bank)
    link.requested = link.requested_at = None
    session.flush()
    audit.record(session, actor=actor, action="enterprise.request_applied" if apply else "enterprise.request_rejected",
                 entity_type="enterprise", entity_id=enterprise.credit_code,
                 after={**_record(requested), "bank": bank, "reason": reason})
    session.refresh(enterprise)
    return enterprise


def banks_of(session: Session, enterprise: Enterprise) -> list[str]:
    """Codes of the banks that registered the enterprise (bureau views only)."""
    return list(session.scalars(
        select(Bank.code).join(EnterpriseBank, EnterpriseBank.bank_id == Bank.id)
        .where(EnterpriseBank.enterprise_id == enterprise.id).order_by(Bank.code)
    ))
