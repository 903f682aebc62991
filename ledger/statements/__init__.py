"""Issuing, registering and verifying PDF statements (SPEC §5, §6).

A statement is a promise an auditor may check years later, so:

- **What it shows is hashed.** Each kind has a data builder that gathers exactly the
  data printed (plain dicts, amounts in fen). The *state hash* is the SHA-256 of the
  canonical JSON of that data together with the kind, scope, period, language and the
  fund's name; it is printed in every footer.
- **Rendering is deterministic.** The PDF is a function of (data, number, language,
  fund name): no clock (``invariant=1``, the PDF dates come from the data), no random
  ids. So the register need not keep the bytes: it keeps their SHA-256.
- **One number per state.** Asked again for the same kind, scope, period and language
  while the state is unchanged, we re-render under the registered number and hand out
  the same bytes; a changed state gets a new number. (Should a software upgrade ever
  change the bytes of an unchanged state, that re-render cannot match its register
  entry and the statement is issued anew under a new number — never two different
  files under one number.)
- **The register is in the audit chain.** Every issue writes a ``statements`` row
  (append-only by trigger) holding the number, scope, period, the PDF's SHA-256, the
  state hash and the audit-chain head it was issued at, and an audit entry.

Numbers are per kind and calendar year of issue: ``BCJ-2026-000001`` (补偿结算单, a
claim), ``ZJD-…`` (资金对账单, a sub-fund), ``YHD-…`` (银行对账单, a bank).

The modules, in the order a statement passes through them: ``kinds`` (kinds, numbers,
periods, business time), ``claim_data`` / ``subfund_data`` / ``bank_data`` (what each
kind prints), ``state`` (gathering and the state hash), ``rendering`` (PDF bytes via
``pdf``), ``issuance`` (numbers and the register row), ``register`` (verifying a file),
``copies`` (an auditor's download: the issued file again, writing nothing).
"""

from __future__ import annotations

from .bank_data import bank_statement_data
from .claim_data import claim_statement_data
from .issuance import Issued, filenames, issue_statement, issue_statement_to, next_number
from .kinds import KINDS, LANGS, NUMBER_RE, PREFIXES, LedgerInconsistent, Period, local, local_date, local_text, parse_period
from .register import Verification, claimed_numbers, statement_dict, verify_pdf
from .rendering import render_prepared, render_statement
from .state import Prepared, prepare, state_hash
from .subfund_data import subfund_statement_data

__all__ = [
    "KINDS",
    "LANGS",
    "NUMBER_RE",
    "PREFIXES",
    "Issued",
    "LedgerInconsistent",
    "Period",
    "Prepared",
    "Verification",
    "bank_statement_data",
    "claim_statement_data",
    "claimed_numbers",
    "filenames",
    "issue_statement",
    "issue_statement_to",
    "local",
    "local_date",
    "local_text",
    "next_number",
    "parse_period",
    "prepare",
    "render_prepared",
    "render_statement",
    "state_hash",
    "statement_dict",
    "subfund_statement_data",
    "verify_pdf",
]
