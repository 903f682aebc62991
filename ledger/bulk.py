"""Bulk loan upload: CSV or XLSX, English or Chinese headers (issue 4, item 3).

Every row goes through the same checks as ``POST /api/v1/loans`` (and, when it carries
the enterprise columns, ``POST /api/v1/enterprises``) — the :class:`ledger.loans.Registrar`
— and gets a line in the report: ``created``, ``unchanged`` or ``error`` with every
problem as ``{field, code, message}``. Re-running a file changes nothing.

Atomicity. Rows are handled in batches (500 by default). Within a batch each row is
checked against the state left by the rows before it and is planned whole or not at
all (a refused loan also undoes the enterprise its row registered); the accepted rows
are then written with one batched INSERT per table (COPY on PostgreSQL,
``ledger.db.insert_rows``) inside a SAVEPOINT, and the batch is
committed through the caller's ``commit`` hook. A process killed half way therefore
leaves complete rows of committed batches only, and re-running the file completes
it. Should the batch's INSERT lose a race to a concurrent writer (a credit code or an
external_id registered meanwhile), the batch is redone row by row, each row in its
own SAVEPOINT, so a bad row never undoes good ones.

Row numbers are those a spreadsheet shows: the header is row 1.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules import Violation
from rules.money import AmountError, parse_amount

from . import creditcode
from .enterprises import KNOWN_CATEGORIES, check_enterprise
from .errors import DomainError, ValidationFailed
from .loans import LoanRequest, Registrar, normalise_rate

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_SIZE = 500

#: Canonical column -> accepted headers (compared after :func:`_header_key`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "贷款编号", "借据号", "借据编号", "贷款合同号", "合同编号"),
    "scheme": ("scheme", "方案", "方案代码", "产品方案"),
    "credit_code": ("credit_code", "统一社会信用代码", "社会信用代码", "信用代码"),
    "principal": ("principal", "贷款本金", "本金", "贷款金额"),
    "disbursed_on": ("disbursed_on", "放款日期", "发放日期", "放款日"),
    "maturity_on": ("maturity_on", "到期日期", "到期日"),
    "interest_rate": ("interest_rate", "利率", "年利率", "贷款利率"),
    "collateral_type": ("collateral_type", "担保方式"),
    "enterprise_name": ("enterprise_name", "企业名称", "借款人名称", "借款企业"),
    "region": ("region", "地区代码", "行政区划代码", "所在地区代码"),
    "categories": ("categories", "企业类别", "企业类型"),
}
REQUIRED = ("external_id", "scheme", "credit_code", "principal", "disbursed_on", "maturity_on")
ENTERPRISE_COLUMNS = ("enterprise_name", "region", "categories")
#: Columns banks' exports often carry that mean nothing to the ledger.
IGNORED = ("序号", "no", "#", "备注", "remark", "remarks", "note", "notes")
#: Chinese category names accepted in the categories column.
CATEGORY_LABELS = {label: name for name, label in KNOWN_CATEGORIES.items()} | {
    "科技型中小企业": "tech_sme", "高新技术企业": "high_tech", "高企": "high_tech",
    "农业科技企业": "agri_tech", "农业类科技企业": "agri_tech", "专业镇企业": "specialized_town",
    "专业镇内企业": "specialized_town",
}


def _header_key(text: object) -> str:
    """'贷款本金（元）', ' Principal ' and 'principal' all become the same key."""
    key = str(text or "").strip().lstrip("\ufeff")
    key = re.sub(r"[（(][^）)]*[）)]\s*$", "", key).strip()
    return key.lower().replace(" ", "_")


_ALIASES = {_header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


class RowReport(NamedTuple):
    """One row's outcome. A tuple of plain values, so the garbage collector stops
    tracking it: a report of 100,000 rows then costs its passes nothing."""

    row: int
    external_id: str | None
    status: str  # created | unchanged | error
    loan_id: int | None = None
    errors: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "external_id": self.external_id, "status": self.status, "loan_id": self.loan_id,
                "errors": list(self.errors)}


@dataclass
class ImportReport:
    rows: list[RowReport] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        counts = {"rows": len(self.rows), "created": 0, "unchanged": 0, "failed": 0}
        for row in self.rows:
            counts["failed" if row.status == "error" else row.status] += 1
        return counts

    @property
    def failed(self) -> list[RowReport]:
        return [r for r in self.rows if r.status == "error"]


def invalid_file(message: str, **errors: list[str]) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_file", errors=errors or {"file": [message]})


# -- reading -------------------------------------------------------------------------


def is_xlsx(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> bool:
    # An XLSX is a ZIP archive; the magic number decides when the client's labels lie.
    return data[:4] == b"PK\x03\x04" or content_type == XLSX_MIME or bool(filename and filename.lower().endswith(".xlsx"))


def read_table(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(spreadsheet row number, cell values) for every row, header first."""
    if is_xlsx(data, filename=filename, content_type=content_type):
        yield from _read_xlsx(data)
    else:
        yield from _read_csv(data)


def _decode(data: bytes) -> str:
    # Excel on a Chinese Windows saves "CSV" as GB18030 (GBK); everything else as
    # UTF-8, often with a BOM.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise invalid_file("The file is neither UTF-8 nor GB18030 text, nor an XLSX workbook.") from None


def _read_csv(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        for number, values in enumerate(reader, start=1):
            yield number, values
    except csv.Error as exc:
        raise invalid_file(f"The CSV file cannot be read: {exc}.") from None


def _read_xlsx(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions other producers write; they
            # do not affect cell values.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise invalid_file(f"The XLSX workbook cannot be read: {exc}.") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        workbook.close()


# -- cells ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a loan number or region Excel stored as a number
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN_AMOUNT = re.compile(r"^([1-9]\d{0,12})(?:\.(\d\d?))?$")


def _amount(value: Any) -> int:
    if value.__class__ is str and (plain := _PLAIN_AMOUNT.match(value)):
        # The common cell, "1234567.89": integer arithmetic, same result as
        # parse_amount (positive, at most two decimals, below 10^13 yuan).
        return int(plain[1]) * 100 + int((plain[2] or "0").ljust(2, "0"))
    if isinstance(value, float):
        # Excel keeps numbers as doubles; repr() is the shortest text that reads back
        # the same double, i.e. what the user typed ("1234.56"). More than two
        # decimals is then refused by parse_amount, as for any other amount.
        value = Decimal(repr(value))
    elif isinstance(value, str):
        value = value.strip()
        if _GROUPED.match(value):
            value = value.replace(",", "")
    return parse_amount(value, allow_zero=False)


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?$")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("not a date: use YYYY-MM-DD") from None
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DATE.match(text)
    if not match:
        raise ValueError("not a date: use YYYY-MM-DD")
    return date(int(match[1]), int(match[2]), int(match[3]))


_PLAIN_RATE = re.compile(r"^0\.\d{0,5}[1-9]$")


def _rate(value: Any) -> str | None:
    if value.__class__ is str and _PLAIN_RATE.match(value):
        return value  # already as normalise_rate() writes it ("0.0435")
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, str):
        value = value.strip()
        if value.endswith("%"):
            try:
                value = Decimal(value[:-1].strip()) / 100
            except ArithmeticError:
                raise ValueError('not a rate: use "0.0435" or "4.35%"') from None
    return normalise_rate(value)


def _categories(value: Any) -> list[str]:
    parts = [p for p in re.split(r"[,，、;；|/\s]+", _text(value)) if p]
    return [CATEGORY_LABELS.get(p, p) for p in parts]


@dataclass
class ParsedRow:
    row: int
    external_id: str | None
    request: LoanRequest | None
    #: (credit_code, name, region, categories) when the row registers its enterprise.
    enterprise: dict[str, Any] | None
    errors: list[Violation]


def _columns(header: Sequence[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    unknown, duplicate = [], []
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if not key or key in IGNORED:
            continue
        name = _ALIASES.get(key)
        if name is None:
            unknown.append(str(cell).strip())
        elif name in positions:
            duplicate.append(str(cell).strip())
        else:
            positions[name] = index
    errors: dict[str, list[str]] = {}
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        errors["header"] = ["missing columns: " + ", ".join(f"{m} ({COLUMNS[m][1]})" for m in missing)]
    if unknown:
        errors.setdefault("header", []).append(
            "unknown columns: " + ", ".join(unknown) + "; accepted: "
            + ", ".join(f"{name}/{aliases[1]}" for name, aliases in COLUMNS.items()))
    if duplicate:
        errors.setdefault("header", []).append("columns given twice: " + ", ".join(duplicate))
    if errors:
        raise ValidationFailed("The file's header row is not usable.", code="invalid_file", errors=errors)
    return positions


def parse_row(number: int, values: Sequence[Any], columns: dict[str, int]) -> ParsedRow:
    width = len(values)
    raw = {name: values[index] if index < width else None for name, index in columns.items()}
    # CSV cells are always str: strip them without _text's type tests.
    text = {name: value.strip() if value.__class__ is str else _text(value) for name, value in raw.items()}
    errors = [Violation("required", name, "required") for name in REQUIRED if not text.get(name)]
    parsed: dict[str, Any] = {name: text[name] for name in ("external_id", "scheme", "credit_code")}
    for name in ("disbursed_on", "maturity_on"):
        if text[name]:
            try:
                parsed[name] = _date(raw[name])
            except ValueError as exc:
                errors.append(Violation("invalid_date", name, str(exc)))
    if text["principal"]:
        try:
            parsed["principal"] = _amount(raw["principal"])
        except AmountError as exc:
            errors.append(Violation(exc.code, "principal", exc.message))
    try:
        parsed["interest_rate"] = _rate(raw.get("interest_rate"))
    except ValueError as exc:
        errors.append(Violation("invalid_rate", "interest_rate", str(exc)))
    parsed["collateral_type"] = text.get("collateral_type") or None

    enterprise = None
    if any(text.get(name) for name in ENTERPRISE_COLUMNS):
        enterprise = {"credit_code": parsed["credit_code"], "name": text.get("enterprise_name", ""),
                      "region": text.get("region", ""), "categories": _categories(text.get("categories", ""))}
    request = LoanRequest(**parsed) if not errors else None
    return ParsedRow(number, text["external_id"] or None, request, enterprise, errors)


def read_rows(data: bytes, *, filename: str | None = None, content_type: str | None = None
              ) -> tuple[dict[str, int], list[tuple[int, tuple[Any, ...]]]]:
    """The header's column positions and the non-blank data rows (number, cells)."""
    rows = read_table(data, filename=filename, content_type=content_type)
    header = None
    for _number, values in rows:
        if not _blank(values):
            header = values
            break
    if header is None:
        raise invalid_file("The file has no header row.")
    columns = _columns(header)
    # Tuples of plain values: the garbage collector stops tracking them, which keeps
    # its passes cheap while a large file is held in memory.
    return columns, [(number, tuple(values)) for number, values in rows if not _blank(values)]


def _blank(values: Sequence[Any]) -> bool:
    try:
        # CSV cells are all text: one join instead of a test per cell.
        return not "".join(values).strip()
    except TypeError:  # XLSX cells: numbers, dates, None
        return not any(_text(v) for v in values)


def parse_file(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> list[ParsedRow]:
    columns, rows = read_rows(data, filename=filename, content_type=content_type)
    return [parse_row(number, values, columns) for number, values in rows]


# -- importing -----------------------------------------------------------------------


def _error_dicts(violations: Sequence[Violation | dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for v in violations:
        d = v if isinstance(v, dict) else v.__dict__
        out.append({"field": str(d.get("field")), "code": str(d.get("code")), "message": str(d.get("message"))})
    return out


def _exception_errors(exc: DomainError) -> list[dict[str, str]]:
    if exc.details:
        return _error_dicts(exc.details)
    if exc.errors:
        return [{"field": f, "code": exc.code, "message": m} for f, ms in exc.errors.items() for m in ms]
    return [{"field": "", "code": exc.code, "message": exc.message}]


def _plan_row(registrar: Registrar, parsed: ParsedRow, checked: dict[tuple[Any, ...], Any] | None = None,
              ) -> tuple[str | None, Any, list[dict[str, str]]]:
    """Plan one row (its enterprise, then its loan) whole or not at all. ``checked``:
    the batch's enterprise checks by their columns — a borrower's rows repeat them."""
    assert parsed.request is not None
    mark = registrar.mark()
    errors: list[dict[str, str]] = []
    enterprise_failed = False
    if parsed.enterprise is not None:
        fields = parsed.enterprise
        key = (fields["credit_code"], fields["name"], fields["region"], tuple(fields["categories"]))
        if checked is None or (found := checked.get(key)) is None:
            found = check_enterprise(**parsed.enterprise, allowed=registrar.enterprises.allowed_categories)
            if checked is not None:
                checked[key] = found
        data, problems = found
        if data is None:
            errors += _error_dicts(problems)
            enterprise_failed = True
        else:
            try:
                registrar.enterprises.register(data)
            except DomainError as exc:
                errors += _exception_errors(exc)
                enterprise_failed = True
    outcome = None
    try:
        outcome = registrar.plan(parsed.request)
    except DomainError as exc:
        errors += [e for e in _exception_errors(exc)
                   if not (enterprise_failed and e["code"] == "enterprise_not_registered")]
    if errors:
        registrar.restore(mark)
        # The enterprise and the loan both check the credit code: report it once.
        unique = {(e["field"], e["code"], e["message"]): e for e in errors}
        return None, None, list(unique.values())
    assert outcome is not None
    return outcome.status, outcome, []


def import_loans(
    session: Session,
    data: bytes,
    *,
    bank_id: int,
    today: date,
    actor: str,
    filename: str | None = None,
    content_type: str | None = None,
    batch_size: int = BATCH_SIZE,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Register every row of a CSV/XLSX file for ``bank_id``; see the module doc.

    ``commit`` is called after each batch (the CLI and the API commit there; without
    it the whole file is one transaction owned by the caller). ``progress(done, total)``
    is called after each batch. A malformed file (no usable header, not CSV/XLSX) is
    ``invalid_file`` before anything is written.
    """
    columns, rows = read_rows(data, filename=filename, content_type=content_type)
    report = ImportReport()
    registrar = Registrar(session, bank_id=bank_id, today=today, actor=actor)
    total = len(rows)
    for start in range(0, total, batch_size):
        with _collector_paused():
            # Parsed a batch at a time: only one batch of requests is alive at once.
            batch = [parse_row(number, values, columns) for number, values in rows[start:start + batch_size]]
            report.rows.extend(_import_batch(session, registrar, batch))
            if commit is not None:
                commit()
        registrar.reset()
        if progress is not None:
            progress(min(start + batch_size, total), total)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection within a batch; one when it is done.

    A batch allocates hundreds of thousands of short-lived objects (rows, requests,
    statement parameters), so the collector ran many times per batch, each time
    walking every object the process holds — a fifth of the upload's time, growing
    with the report. Its cycles are freed after the batch instead."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _failed(parsed: ParsedRow, errors: Sequence[dict[str, str]]) -> RowReport:
    return RowReport(parsed.row, parsed.external_id, "error", None, tuple(errors))


def _import_batch(session: Session, registrar: Registrar, batch: Sequence[ParsedRow]) -> list[RowReport]:
    good = [p for p in batch if p.request is not None]
    registrar.preload([p.request for p in good if p.request is not None],
                      [creditcode.normalise(p.enterprise["credit_code"]) for p in good if p.enterprise])
    results: list[RowReport | tuple[ParsedRow, str, Any]] = []
    checked: dict[tuple[Any, ...], Any] = {}
    for parsed in batch:
        if parsed.request is None:
            results.append(_failed(parsed, _error_dicts(parsed.errors)))
            continue
        status, outcome, errors = _plan_row(registrar, parsed, checked)
        results.append(_failed(parsed, errors) if errors else (parsed, status or "error", outcome))
    try:
        with session.begin_nested():
            registrar.write()
    except IntegrityError:
        # A concurrent writer registered one of these codes or external_ids after our
        # reads: redo the batch row by row with fresh reads, each row in a savepoint.
        registrar.reset()
        return _import_rows_one_by_one(session, registrar, batch)
    # Loan ids are known once written.
    return [r if isinstance(r, RowReport) else RowReport(r[0].row, r[0].external_id, r[1], r[2].loan_id)
            for r in results]


def _import_rows_one_by_one(session: Session, registrar: Registrar, batch: Sequence[ParsedRow]) -> list[RowReport]:
    reports = []
    for parsed in batch:
        if parsed.request is None:
            reports.append(_failed(parsed, _error_dicts(parsed.errors)))
            continue
        row = None
        for _attempt in (1, 2):
            registrar.reset()
            status, outcome, errors = _plan_row(registrar, parsed)
            if errors:
                row = _failed(parsed, errors)
                break
            try:
                with session.begin_nested():
                    registrar.write()
            except IntegrityError:
                continue
            row = RowReport(parsed.row, parsed.external_id, status or "error", outcome.loan_id)
            break
        if row is None:
            row = _failed(parsed, [{"field": "", "code": "conflict",
                                    "message": "changed concurrently by another request; upload again"}])
        reports.append(row)
    registrar.reset()
    return reports


__all__ = [
    "BATCH_SIZE",
    "COLUMNS",
    "XLSX_MIME",
    "ImportReport",
    "ParsedRow",
    "RowReport",
    "import_loans",
    "parse_file",
    "read_rows",
    "read_table",
]
