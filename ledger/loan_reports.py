"""Monthly loan-level reports (SPEC §4a, 贷款月度报送, like SBA Form 1502).

A bank reports, for every live loan it registered, the position at the end of month
M: outstanding principal, status (``current``, ``overdue``, ``default``, ``repaid``),
days past due and, for a default, its date. Applying a report *is* the events it
implies, recorded through the loan-event service (:func:`ledger.loans.record_event`)
exactly as if the bank had sent them one by one, with their journal/audit entries:

============================ ================ ===========================================
reported                     ledger loan      event (dated the month's last day, a
                                              default on its ``default_on``)
============================ ================ ===========================================
current/overdue, lower       active           ``repayment`` of the difference
default                      active           ``default`` (with the reported outstanding
                                              when it is lower)
repaid                       active           ``repaid`` (the outstanding to zero)
============================ ================ ===========================================

Everything else that differs from the ledger is a *mismatch*, reported and not applied
(the bureau or the bank must look): an outstanding above the ledger's
(``outstanding_above_ledger``), a closed loan reported live (``reported_live_but_closed``),
a defaulted loan reported performing (``reported_performing_but_defaulted``), another
default date (``default_date_differs``), a loan disbursed after the month
(``disbursed_after_period``), or an event the loan-event service refused (its code).

The answer reconciles: ``applied`` events, ``missing`` live loans (``active``,
``defaulted``, ``claimed``, disbursed by the month's end) the report left out,
``unknown`` external ids, ``mismatches`` and ``late``. A second report for the same
month is a correction: lines identical to the previous report of the month are skipped,
only the differences are applied.

Due date: day ``monthly_report_due_day`` of M+1 (a day past the month's end: its last
day) of the rule versions in force on the month's last day of the schemes the bank has
loans in; with several, the earliest. No scheme setting it: no deadline, never late.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from rules.money import AmountError, format_amount, parse_amount

from . import audit, bulk, events
from .errors import DomainError, NotFound, ValidationFailed
from .loans import record_event
from .models import REPORT_STATUSES, Bank, Event, Loan, LoanEvent, LoanReport, LoanReportLine, RuleVersion
from .schemes import ruleset_of

#: Loans a bank must report every month.
LIVE_STATUSES = ("active", "defaulted", "claimed")
#: Statuses after which a loan is no longer live: reporting it live contradicts the ledger.
CLOSED_STATUSES = ("repaid", "closed", "cancelled")
#: Chinese headers and status words banks' systems export (English ones work too).
COLUMNS = {
    "external_id": ("external_id", "贷款编号", "借据号", "贷款合同号"),
    "outstanding_principal": ("outstanding_principal", "outstanding", "未偿本金", "贷款余额", "本金余额"),
    "status": ("status", "状态", "贷款状态"),
    "days_past_due": ("days_past_due", "逾期天数"),
    "default_on": ("default_on", "违约日期", "违约日"),
}
STATUS_WORDS = {"正常": "current", "逾期": "overdue", "违约": "default", "不良": "default", "结清": "repaid",
                "已结清": "repaid"}
#: One report holds at most this many lines (a large bank's whole book with room to spare).
MAX_LINES = 500_000
_ALIASES = {alias.strip().lower(): name for name, aliases in COLUMNS.items() for alias in aliases}


@dataclass(frozen=True)
class ReportLine:
    external_id: str
    outstanding: int
    status: str
    days_past_due: int
    default_on: date | None

    def key(self) -> tuple[Any, ...]:
        return (self.outstanding, self.status, self.days_past_due, self.default_on)


# -- periods and due dates ---------------------------------------------------------------


def parse_period(text: object, *, field: str = "period") -> tuple[date, date]:
    """``YYYY-MM`` -> (first day, last day) of that month; 422 naming ``field`` otherwise."""
    if not isinstance(text, str) or len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        raise ValidationFailed("The period is a month such as 2026-03.", code="invalid_period",
                               errors={field: ["a month YYYY-MM"]})
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationFailed("The period is a month such as 2026-03.", code="invalid_period",
                               errors={field: ["a month YYYY-MM"]})
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def due_on(period_end: date, due_day: int) -> date:
    """Day ``due_day`` of the month after ``period_end`` (its last day in a shorter month)."""
    year, month = (period_end.year + 1, 1) if period_end.month == 12 else (period_end.year, period_end.month + 1)
    return date(year, month, min(due_day, calendar.monthrange(year, month)[1]))


def bank_due_on(session: Session, bank_id: int, period_end: date) -> date | None:
    """The bank's deadline for the month (see the module doc); None without a duty."""
    days = []
    scheme_ids = session.scalars(select(Loan.scheme_id).where(Loan.bank_id == bank_id).distinct()).all()
    for scheme_id in scheme_ids:
        version = session.scalar(
            select(RuleVersion).where(RuleVersion.scheme_id == scheme_id, RuleVersion.effective_from <= period_end)
            .order_by(RuleVersion.effective_from.desc()).limit(1))
        if version is not None and (day := ruleset_of(version).reporting.monthly_report_due_day) is not None:
            days.append(day)
    return due_on(period_end, min(days)) if days else None


# -- reading -----------------------------------------------------------------------------


def _problem(errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed("The report has invalid lines; nothing was applied.", code="invalid_report",
                            errors=errors)


def _outstanding(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0
    if isinstance(value, str) and value.strip() in ("0", "0.0", "0.00"):
        return 0
    return bulk._amount(value)  # noqa: SLF001 - the bulk upload's cell reader (Excel doubles, 1,234.56)


def read_lines(items: Iterable[dict[str, Any]], *, period_end: date, path: str = "loans",
               cells: bool = False) -> list[ReportLine]:
    """Validate report lines; every problem is named by its path (``loans[3].status``).

    ``cells`` reads spreadsheet cells (Excel numbers and dates, Chinese status words)
    rather than strict JSON values.
    """
    errors: dict[str, list[str]] = {}
    lines: list[ReportLine] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        at = f"{path}[{i}]" if not cells else f"row {i + 2}"
        bad = len(errors)

        def err(field: str, message: str) -> None:
            errors.setdefault(f"{at}.{field}", []).append(message)

        external_id = bulk._text(item.get("external_id")) if cells else item.get("external_id")  # noqa: SLF001
        if not isinstance(external_id, str) or not external_id or external_id != external_id.strip() \
                or len(external_id) > 64 or not external_id.isprintable():
            err("external_id", "required: the bank's loan number (at most 64 characters, no surrounding spaces)")
            external_id = None
        elif external_id in seen:
            err("external_id", f"{external_id} is already reported at line {seen[external_id] + 1}")
        else:
            seen[external_id] = i
        outstanding = None
        raw = item.get("outstanding_principal")
        try:
            if cells:
                outstanding = _outstanding(raw)
            else:
                if isinstance(raw, float):
                    raise AmountError("invalid_amount", "a decimal string")
                outstanding = parse_amount(raw)
        except (AmountError, ValueError, ArithmeticError):
            err("outstanding_principal", 'an amount such as "1200000.00"')
        status = item.get("status")
        if cells and isinstance(status, str):
            status = STATUS_WORDS.get(status.strip(), status.strip().lower())
        if status not in REPORT_STATUSES:
            err("status", f"one of {', '.join(REPORT_STATUSES)}")
            status = None
        dpd = item.get("days_past_due", 0)
        if cells:
            text = bulk._text(dpd)  # noqa: SLF001
            dpd = int(text) if text.isdigit() else (0 if text == "" else None)
        if isinstance(dpd, bool) or not isinstance(dpd, int) or not 0 <= dpd <= 36_500:
            err("days_past_due", "a whole number of days, 0 or more")
            dpd = None
        default_on = item.get("default_on")
        if default_on in (None, ""):
            default_on = None
        else:
            try:
                default_on = bulk._date(default_on) if cells else _iso_date(default_on)  # noqa: SLF001
            except ValueError:
                err("default_on", "a date YYYY-MM-DD")
                default_on = None
        if status == "default" and default_on is None and f"{at}.default_on" not in errors:
            err("default_on", "required for a default")
        if default_on is not None and default_on > period_end:
            err("default_on", f"after the reported month's end ({period_end})")
        if status == "repaid" and outstanding:
            err("outstanding_principal", "a repaid loan has nothing outstanding")
        if len(errors) == bad:
            lines.append(ReportLine(external_id, outstanding, status, dpd, default_on))  # type: ignore[arg-type]
        if len(errors) > 200:
            break  # enough to fix a systematic mistake; the rest would repeat it
    if errors:
        raise _problem(errors)
    if len(lines) > MAX_LINES:
        raise _problem({path: [f"at most {MAX_LINES} lines"]})
    return lines


def _iso_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("not a date")
    return date.fromisoformat(value)


def read_file(data: bytes, *, period_end: date, filename: str | None = None,
              content_type: str | None = None) -> list[ReportLine]:
    """The lines of a CSV or XLSX report (Chinese or English headers)."""
    rows = bulk.read_table(data, filename=filename, content_type=content_type)
    header = next(rows, None)
    if header is None:
        raise bulk.invalid_file("The file is empty.")
    columns: dict[str, int] = {}
    for index, title in enumerate(header[1]):
        name = _ALIASES.get(bulk._text(title).lower())  # noqa: SLF001
        if name is not None and name not in columns:
            columns[name] = index
    missing = [name for name in ("external_id", "outstanding_principal", "status") if name not in columns]
    if missing:
        raise bulk.invalid_file("The header row lacks required columns.",
                                file=[f"missing column {name} ({'/'.join(COLUMNS[name][1:2])})" for name in missing])
    items = []
    for _number, values in rows:
        if not any(bulk._text(v) for v in values):  # noqa: SLF001
            continue  # blank rows at the end of a sheet
        items.append({name: values[index] if index < len(values) else None for name, index in columns.items()})
    return read_lines(items, period_end=period_end, cells=True)


# -- applying ----------------------------------------------------------------------------


@dataclass
class _LoanRow:
    id: int
    external_id: str
    status: str
    outstanding: int
    disbursed_on: date
    default_on: date | None


def _mismatch(line: ReportLine, code: str, message: str) -> dict[str, str]:
    return {"external_id": line.external_id, "code": code, "message": message}


def _implied(line: ReportLine, loan: _LoanRow, period_end: date) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """The event a line implies for its loan, or the mismatch it shows (or neither)."""
    if loan.disbursed_on > period_end:
        return None, _mismatch(line, "disbursed_after_period",
                               f"disbursed on {loan.disbursed_on}, after the month's end")
    if loan.status in CLOSED_STATUSES:
        if line.status == "repaid" and loan.status in ("repaid", "closed"):
            return None, None
        return None, _mismatch(line, "reported_live_but_closed", f"the loan is {loan.status} in the ledger")
    if line.outstanding > loan.outstanding and line.status != "repaid":
        return None, _mismatch(line, "outstanding_above_ledger",
                               f"reported {format_amount(line.outstanding)} above the ledger's "
                               f"{format_amount(loan.outstanding)}")
    if line.status == "repaid":
        if loan.status == "active":
            return {"type": "repaid", "on": period_end}, None
        return None, _mismatch(line, "reported_repaid_but_defaulted", f"the loan is {loan.status} in the ledger")
    if line.status == "default":
        if loan.status == "active":
            if line.outstanding == 0:
                return None, _mismatch(line, "default_without_outstanding", "a default with nothing outstanding")
            if line.default_on < loan.disbursed_on:  # type: ignore[operator]
                return None, _mismatch(line, "default_before_disbursement",
                                       f"the loan was disbursed on {loan.disbursed_on}")
            event: dict[str, Any] = {"type": "default", "on": line.default_on}
            if line.outstanding < loan.outstanding:
                event["amount"] = line.outstanding
            return event, None
        if loan.default_on is not None and loan.default_on != line.default_on:
            return None, _mismatch(line, "default_date_differs",
                                   f"the ledger's default is on {loan.default_on}, reported {line.default_on}")
        return None, None
    # current or overdue
    if loan.status != "active":
        return None, _mismatch(line, "reported_performing_but_defaulted", f"the loan is {loan.status} in the ledger")
    if line.outstanding < loan.outstanding:
        return {"type": "repayment", "on": period_end, "amount": loan.outstanding - line.outstanding}, None
    return None, None


#: Each implied event as the conditional UPDATE the loan-event service makes for it.
_loans = Loan.__table__
_STILL = (_loans.c.id == bindparam("b_id")) & (_loans.c.status == "active") \
    & (_loans.c.outstanding == bindparam("b_expected"))
_WRITES = {
    "repayment": update(_loans).where(_STILL).values(outstanding=bindparam("b_after")),
    "default": update(_loans).where(_STILL).values(status="defaulted", default_on=bindparam("b_on"),
                                                    outstanding=bindparam("b_after")),
    "repaid": update(_loans).where(_STILL).values(status="repaid", outstanding=0),
}
_AFTER_STATUS = {"repayment": "active", "default": "defaulted", "repaid": "repaid"}


def _after(loan: _LoanRow, event: dict[str, Any]) -> int:
    if event["type"] == "repayment":
        return loan.outstanding - event["amount"]
    if event["type"] == "repaid":
        return 0
    return event.get("amount", loan.outstanding)


def _record_events(session: Session, bank_id: int, planned: list[tuple[_LoanRow, dict[str, Any]]], *, today: date,
                   actor: str, mismatches: list[dict[str, str]]) -> list[tuple[_LoanRow, dict[str, Any], int]]:
    """Record the implied events, in bulk, exactly as :func:`ledger.loans.record_event`
    records one: the loan's conditional UPDATE (still ``active``, still the outstanding the
    line was compared with), a ``loan_events`` row and a ``loan.<type>`` audit entry of the
    same shape. One statement per kind of event instead of one round trip per loan keeps
    a 50,000-loan report within a minute on SQLite.

    Should any loan have moved meanwhile (an event sent on its own), the batch is undone
    and every event goes through ``record_event`` one by one, which refuses what no longer
    fits: a refusal is a mismatch carrying the service's code.
    """
    if not planned:
        return []
    try:
        with session.begin_nested():
            for kind, write in _WRITES.items():
                rows = [{"b_id": loan.id, "b_expected": loan.outstanding, "b_after": _after(loan, event),
                         "b_on": event["on"]} for loan, event in planned if event["type"] == kind]
                if rows and session.execute(write, rows).rowcount != len(rows):
                    raise _Moved
            events = LoanEvent.__table__
            ids = list(session.scalars(
                insert(events).returning(events.c.id, sort_by_parameter_order=True),
                [{"loan_id": loan.id, "type": event["type"], "on": event["on"], "amount": event.get("amount"),
                  "outstanding_after": _after(loan, event), "status_after": _AFTER_STATUS[event["type"]],
                  "created_by": actor} for loan, event in planned]))
    except _Moved:
        return _record_one_by_one(session, bank_id, planned, today=today, actor=actor, mismatches=mismatches)
    done = []
    for (loan, event), event_id in zip(planned, ids, strict=True):
        after = _after(loan, event)
        audit.record(session, actor=actor, action=f"loan.{event['type']}", entity_type="loan", entity_id=loan.id,
                     before={"status": loan.status, "outstanding": format_amount(loan.outstanding)},
                     after={"status": _AFTER_STATUS[event["type"]], "outstanding": format_amount(after),
                            "on": event["on"], "amount": format_amount(event["amount"]) if "amount" in event else None,
                            "event_id": event_id})
        loan.status, loan.outstanding = _AFTER_STATUS[event["type"]], after
        done.append((loan, event, event_id))
    return done


class _Moved(Exception):
    """A loan changed between reading the ledger and writing the report's events."""


def _record_one_by_one(session: Session, bank_id: int, planned: list[tuple[_LoanRow, dict[str, Any]]], *,
                       today: date, actor: str, mismatches: list[dict[str, str]]
                       ) -> list[tuple[_LoanRow, dict[str, Any], int]]:
    done = []
    for loan, event in planned:
        try:
            with session.begin_nested():
                updated, recorded = record_event(session, loan.id, bank_id=bank_id, today=today, actor=actor,
                                                 **event)
        except DomainError as exc:
            mismatches.append({"external_id": loan.external_id, "code": exc.code, "message": exc.message})
            continue
        loan.status, loan.outstanding = updated.status, updated.outstanding
        done.append((loan, event, recorded.id))
    return done


def _previous(session: Session, bank_id: int, period: str) -> tuple[LoanReport | None, dict[str, tuple[Any, ...]]]:
    report = session.scalar(select(LoanReport).where(LoanReport.bank_id == bank_id, LoanReport.period == period)
                            .order_by(LoanReport.sequence.desc()).limit(1))
    if report is None:
        return None, {}
    rows = session.execute(select(LoanReportLine.external_id, LoanReportLine.outstanding, LoanReportLine.status,
                                  LoanReportLine.days_past_due, LoanReportLine.default_on)
                           .where(LoanReportLine.report_id == report.id))
    return report, {r[0]: tuple(r[1:]) for r in rows}


def apply_report(session: Session, *, bank_id: int, period: str, lines: Sequence[ReportLine], today: date,
                 actor: str, source: str, body: bytes, filename: str | None = None,
                 progress: Callable[[int], None] | None = None) -> LoanReport:
    """Record a bank's report for ``period`` and apply the events it implies.

    ``progress`` is called with the number of lines done so far (the CLI's bar).
    """
    period_start, period_end = parse_period(period)
    if period_end >= today:
        raise ValidationFailed(f"{period} has not ended yet: a month is reported after its last day.",
                               code="period_not_ended", errors={"period": [f"ends on {period_end}"]})
    # One report of a bank at a time: the sequence number and the differences against
    # the previous report must not race a concurrent correction.
    bank = session.scalar(select(Bank).where(Bank.id == bank_id).with_for_update())
    if bank is None:
        raise NotFound(f"No bank {bank_id}.", code="bank_not_found")
    previous, previous_lines = _previous(session, bank_id, period)
    due = bank_due_on(session, bank_id, period_end)
    loans = {row.external_id: _LoanRow(*row) for row in session.execute(
        select(Loan.id, Loan.external_id, Loan.status, Loan.outstanding, Loan.disbursed_on, Loan.default_on)
        .where(Loan.bank_id == bank_id))}

    applied: list[dict[str, Any]] = []
    mismatches: list[dict[str, str]] = []
    unknown: list[str] = []
    planned: list[tuple[_LoanRow, dict[str, Any]]] = []
    unchanged = 0
    for done, line in enumerate(lines, start=1):
        loan = loans.get(line.external_id)
        if loan is None:
            unknown.append(line.external_id)
        elif previous_lines.get(line.external_id) == line.key():
            unchanged += 1  # a correction applies only what differs from the month's last report
        else:
            event, mismatch = _implied(line, loan, period_end)
            if mismatch is not None:
                mismatches.append(mismatch)
            if event is not None:
                planned.append((loan, event))
        if progress is not None and done % 5000 == 0:
            progress(done // 2)
    for loan, event, event_id in _record_events(session, bank_id, planned, today=today, actor=actor,
                                                mismatches=mismatches):
        applied.append({"external_id": loan.external_id, "loan_id": loan.id, "event_id": event_id,
                        "type": event["type"], "on": event["on"].isoformat(),
                        "amount": format_amount(event["amount"]) if "amount" in event else None})
    if progress is not None:
        progress(len(lines))
    reported = {line.external_id for line in lines}
    missing = sorted(row.external_id for row in loans.values()
                     if row.status in LIVE_STATUSES and row.disbursed_on <= period_end
                     and row.external_id not in reported)
    late = due is not None and today > due
    result = {
        "period": period, "late": late, "due_on": due.isoformat() if due else None, "received_on": today.isoformat(),
        "sequence": (previous.sequence + 1) if previous else 1, "correction": previous is not None,
        "lines": len(lines), "unchanged": unchanged,
        "applied": applied, "missing": missing, "unknown": unknown, "mismatches": mismatches,
    }
    report = LoanReport(bank_id=bank_id, period=period, sequence=result["sequence"], received_on=today, due_on=due,
                        late=late, source=source, filename=filename, sha256=hashlib.sha256(body).hexdigest(),
                        lines=len(lines), result=result, created_by=actor)
    session.add(report)
    session.flush()
    if lines:
        session.execute(insert(LoanReportLine.__table__), [
            {"report_id": report.id, "external_id": line.external_id,
             "loan_id": loans[line.external_id].id if line.external_id in loans else None,
             "outstanding": line.outstanding, "status": line.status, "days_past_due": line.days_past_due,
             "default_on": line.default_on} for line in lines])
    audit.record(session, actor=actor, action="loan_report.receive", entity_type="loan_report", entity_id=report.id,
                 after={"bank": bank.code, "period": period, "sequence": report.sequence, "late": late,
                        "sha256": report.sha256, "lines": len(lines), "applied": len(applied),
                        "missing": len(missing), "unknown": len(unknown), "mismatches": len(mismatches)})
    if late and previous is None:  # the month's first report came after its due date
        events.record_event(session, "report.late", bank, {"period": period, "due_on": result["due_on"],
                                                           "received_on": result["received_on"], "report_id": report.id})
    return report


# -- who reported ------------------------------------------------------------------------


@dataclass(frozen=True)
class BankReporting:
    bank: str
    name: str
    #: ``on_time``, ``late``, ``missing`` (due date passed, nothing received), ``pending``
    #: (not yet due) or ``no_duty`` (no scheme sets a due day, nothing received).
    status: str
    due_on: date | None
    received_on: date | None
    reports: int


def reporting_status(session: Session, period: str, *, today: date) -> list[BankReporting]:
    """Per bank with loans live in the month: did it report, on time, late or not at all."""
    _start, period_end = parse_period(period)
    out = []
    banks = session.scalars(select(Bank).where(Bank.id.in_(
        select(Loan.bank_id).where(Loan.disbursed_on <= period_end)))).all()
    for bank in sorted(banks, key=lambda b: b.code):
        reports = session.scalars(select(LoanReport).where(LoanReport.bank_id == bank.id, LoanReport.period == period)
                                  .order_by(LoanReport.sequence)).all()
        due = bank_due_on(session, bank.id, period_end)
        if reports:
            status = "late" if reports[0].late else "on_time"
        elif due is None:
            status = "no_duty"
        else:
            status = "missing" if today > due else "pending"
        out.append(BankReporting(bank.code, bank.name, status, due, reports[0].received_on if reports else None,
                                 len(reports)))
    return out


def missing_reports(session: Session, period: str, *, today: date) -> list[BankReporting]:
    """Banks whose report for ``period`` is past due and not received (``report.missing``)."""
    return [r for r in reporting_status(session, period, today=today) if r.status == "missing"]


def flag_missing_reports(session: Session, *, today: date, months: int = 2) -> int:
    """Record ``report.missing`` once per bank and month whose report is past due and not in.

    Run by the webhook worker (ledger.worker), at most one at a time; looks at the
    last ``months`` months, so a worker that was down for a while catches up.
    """
    flagged = {(row.bank_id, row.data.get("period"))
               for row in session.scalars(select(Event).where(Event.type == "report.missing"))}
    made, month = 0, today.replace(day=1)
    for _ in range(months):
        month = (month - timedelta(days=1)).replace(day=1)
        period = f"{month.year:04d}-{month.month:02d}"
        for row in missing_reports(session, period, today=today):
            bank = session.scalars(select(Bank).where(Bank.code == row.bank)).one()
            if (bank.id, period) not in flagged:
                due = row.due_on.isoformat() if row.due_on else None
                events.record_event(session, "report.missing", bank, {"period": period, "due_on": due})
                made += 1
    return made


def get_report(session: Session, report_id: int, *, bank_id: int | None) -> LoanReport:
    report = session.get(LoanReport, report_id)
    if report is None or (bank_id is not None and report.bank_id != bank_id):
        raise NotFound(f"No loan report {report_id}.", code="loan_report_not_found")
    return report


__all__ = [
    "COLUMNS",
    "LIVE_STATUSES",
    "BankReporting",
    "ReportLine",
    "apply_report",
    "bank_due_on",
    "due_on",
    "flag_missing_reports",
    "get_report",
    "missing_reports",
    "parse_period",
    "read_file",
    "read_lines",
    "reporting_status",
]
