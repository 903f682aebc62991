"""The OpenAPI contract's error side: what every operation can answer besides success.

flask-smorest documents its own ``Error`` schema (``application/json``, an integer
``code``) that this API never sends. Here, from facts each view already states, every
operation gets the statuses it really answers, each as ``application/problem+json``
with the :class:`ProblemSchema` shape (the ``Problem`` component) and the stable codes of that status as an enum:

- a role requirement (``require_roles``) → 401 and 403;
- a path parameter → 404;
- a JSON body → 400 (not JSON, too deep), 413, 415, 422; another body → 413, 415, 422;
- query arguments → 422;
- a write (or issuing a statement) → 409, and 503 when the database asks to retry;
- ``Idempotency-Key`` required → 428, replayed answers carry ``Idempotent-Replayed``.

The code lists are kept true by ``tests/test_openapi_contract.py``, which finds every
code the source can raise, and by schemathesis checking every answer against them.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from marshmallow import INCLUDE, Schema, fields

from .errors import PROBLEM_JSON, TITLE_BY_STATUS

#: The stable ``code`` values by status. Domain codes come from ``ledger.errors``
#: subclasses (category → status) and the API's own refusals.
CODES: dict[int, tuple[str, ...]] = {
    400: ("malformed_json", "json_too_deep", "bad_request"),
    401: ("unauthorized", "invalid_token"),
    403: ("forbidden", "four_eyes", "conflicting_roles"),
    404: ("not_found", "bank_not_found", "claim_not_found", "enterprise_not_found", "loan_not_found",
          "rule_version_not_found", "scheme_not_found", "statement_not_found", "subfund_not_found", "user_not_found",
          "webhook_not_found", "change_request_not_found", "document_not_found", "token_not_found",
          "loan_report_not_found"),
    409: ("conflict", "already_exists", "already_reversed", "bank_compensation_suspended", "cap_exhausted",
          "claim_not_paid", "duplicate_movement", "duplicate_reference", "enterprise_differs", "external_id_conflict",
          "insufficient_funds", "invalid_transition", "loan_state_changed", "payer_subfund_missing",
          "reservation_already_resolved", "subfund_exists", "two_phase_transaction", "documents_missing", "dossier_closed",
          "enterprise_shared", "no_signing_key", "statement_not_issued"),
    413: ("payload_too_large", "document_too_large"),
    415: ("unsupported_media_type",),
    422: ("validation_failed", "duplicate_key", "invalid_text", "idempotency_key_reused", "amount_above_computed",
          "claim_refused", "clawback_too_large", "effective_from_not_after_latest", "exclusive_bank_role",
          "invalid_cursor", "invalid_event", "invalid_file", "invalid_kind", "invalid_language", "invalid_rules",
          "invalid_scenario", "no_rule_version_in_force", "reason_required", "recovery_before_payment",
          "recovery_exceeds_loss", "recovery_in_future", "registration_refused", "repair_reason_required",
          "repayment_exceeds_debt", "scheme_mismatch", "too_many_webhooks", "unbalanced_transaction",
          "unknown_event_type", "unknown_region", "weak_password", "webhook_url_refused", "document_too_large",
          "expiry_in_past", "invalid_document", "invalid_grace", "invalid_token_name", "unknown_document_kind",
          "unsupported_document", "invalid_period", "period_in_future", "date_in_future", "date_too_early",
          "date_before_event", "period_closed", "invalid_report", "period_not_ended", "simulation_too_large",
          "as_of_in_future", "invalid_region"),
    428: ("idempotency_key_required",),
    503: ("retry", "service_unavailable"),
}

WHEN = {
    400: "The body is not UTF-8 JSON, or is nested deeper than 32 levels (`errors.body`).",
    401: "No or an unknown bearer token.",
    403: "The token's user lacks the role (or acts for another bank where that is refused).",
    404: "Nothing with that id or code, or not visible to this caller (another bank's record is a 404).",
    409: "The record's state or a concurrent change does not allow it; nothing was changed.",
    413: "The body is larger than allowed (`errors.body`).",
    415: "The body is not `application/json` in UTF-8 (or the type this operation takes).",
    422: "A field is invalid: `errors` names each one (`details` lists every failed check of a "
         "registration or claim with its own code, e.g. `claim_too_early`); nothing was changed.",
    428: "The `Idempotency-Key` header is required for this operation.",
    503: "The database asked to retry (see `Retry-After`); nothing was changed.",
}

REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same "
                       "`Idempotency-Key` (nothing was done again).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


#: A bank's journey, as request and answer examples (SPEC §3.3's second worked example:
#: Jiangmen, tech_sme + agri_tech, ratio 0.70, payers 50/30/20).
_CLAIM = {
    "id": 7, "loan_id": 42, "bank": "ICBC-GD", "scheme": "GD-KJD", "rule_version": 1, "region": "440703",
    "status": "submitted", "default_on": "2026-06-01", "claimed_on": "2026-06-30",
    "outstanding_principal": "2500000.00", "ratio": "0.7000", "eligible_loss": "2500000.00",
    "compensation": "1750000.00", "approved_amount": None,
    "payers": [{"subfund": "GD-PROV", "share": "0.50", "amount": "875000.00"},
               {"subfund": "CITY-440700", "share": "0.30", "amount": "525000.00"},
               {"subfund": "INS-PICC", "share": "0.20", "amount": "350000.00"}],
    "submitted_at": "2026-06-30T02:15:04.118000+00:00",
}
JOURNEY: dict[tuple[str, str], dict[str, Any]] = {
    ("enterprises.Enterprises", "post"): {
        "request": {"credit_code": "91440300708461136T", "name": "江门某某科技有限公司", "region": "440703",
                    "categories": ["tech_sme", "agri_tech"]},
        "response": ("201", {"credit_code": "91440300708461136T", "name": "江门某某科技有限公司", "region": "440703",
                             "categories": ["agri_tech", "tech_sme"], "outcome": "created"}),
    },
    ("loans.Loans", "post"): {
        "request": {"external_id": "JM-2026-000123", "scheme": "GD-KJD", "credit_code": "91440300708461136T",
                    "principal": "3000000.00", "disbursed_on": "2026-01-15", "maturity_on": "2027-01-15",
                    "interest_rate": "0.0435", "collateral_type": "信用"},
        "response": ("201", {"id": 42, "external_id": "JM-2026-000123", "scheme": "GD-KJD", "rule_version": 1,
                             "status": "active", "principal": "3000000.00", "outstanding": "3000000.00"}),
    },
    ("loans.LoanEvents", "post"): {
        "request": {"type": "repayment", "on": "2026-03-31", "amount": "500000.00"},
        "response": ("201", {"id": 42, "status": "active", "outstanding": "2500000.00"}),
    },
    ("claims.Claims", "post"): {
        "request": {"loan_id": 42, "default_on": "2026-06-01", "outstanding_principal": "2500000.00"},
        "response": ("201", _CLAIM),
    },
    ("claims.Recoveries", "post"): {
        "request": {"amount": "300000.00", "recovered_on": "2026-09-30"},
        "response": ("201", {"id": 1, "amount": "300000.00", "recovered_on": "2026-09-30", "cumulative": "300000.00",
                             "pool_share_cumulative": "210000.00", "returned": "210000.00"}),
    },
}


def _add_examples(doc: dict[str, Any], endpoint: str, method: str) -> None:
    journey = JOURNEY.get((endpoint, method))
    if journey is None:
        return
    body = doc.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        body["example"] = journey["request"]
    status, example = journey["response"]
    responses = doc.get("responses", {})
    answer = responses.get(status, responses.get(int(status)))
    if isinstance(answer, dict) and "application/json" in answer.get("content", {}):
        answer["content"]["application/json"]["example"] = example


class ErrorDetailOut(Schema):
    code = fields.String(metadata={"example": "claim_too_early"})
    field = fields.String(allow_none=True, metadata={"example": "default_on"})
    message = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error is answered; some codes add members
    (``current_status``, ``differing_fields``, ``shortfall`` ...)."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: true

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Invalid request"})
    status = fields.Integer(metadata={"example": 422})
    code = fields.String(metadata={"description": "Stable machine code", "example": "validation_failed"})
    detail = fields.String(metadata={"example": "Some fields are invalid."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Messages per field (dotted paths, `body` for the whole body)",
                                   "example": {"amount": ["Not a valid amount."]}})
    details = fields.List(fields.Nested(ErrorDetailOut),
                          metadata={"description": "Every failed check, each with its own code"})


def problem_response(status: int) -> dict[str, Any]:
    codes = CODES.get(status, ())
    listed = ", ".join(f"`{c}`" for c in codes)
    schema: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
    if codes:
        schema = {"allOf": [schema, {"type": "object", "properties": {"code": {"type": "string", "enum": list(codes)},
                                                                      "status": {"type": "integer", "enum": [status]}}}]}
    return {
        "description": f"{TITLE_BY_STATUS.get(status, 'Error')}. {WHEN.get(status, '')} Codes: {listed}.".strip(),
        "content": {PROBLEM_JSON: {"schema": schema}},
    }


def register_components(spec: Any) -> None:
    if "Problem" not in spec.components.schemas:  # flask-smorest may have added it (ERROR_SCHEMA)
        spec.components.schema("Problem", schema=ProblemSchema)
    for status in CODES:
        spec.components.response(f"Problem{status}", problem_response(status))


def _markdown(text: str) -> str:
    """reStructuredText literals (``x``) as Markdown code (`x`)."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def operation_statuses(facts: dict[str, Any], doc: dict[str, Any], doc_info: dict[str, Any], method: str) -> list[int]:
    body = doc.get("requestBody") or doc_info.get("manual_doc", {}).get("requestBody")
    json_body = body is not None and "application/json" in body.get("content", {})
    queries = [p for p in doc.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"]
    manual_body = body is not None and not json_body
    statuses: set[int] = set()
    if facts.get("roles"):
        statuses |= {401, 403}
    if facts.get("path_parameters") or json_body:
        statuses.add(404)  # a record named in the path, or in the body (a loan_id, a scheme code, …)
    if json_body:
        statuses |= {400, 413, 415, 422}
    elif manual_body:
        statuses |= {413, 415, 422}
    if queries:
        statuses.add(422)
    if method != "get" or facts.get("issues_statement"):
        statuses |= {409, 503}
    if facts.get("idempotency") == "required":
        statuses |= {422, 428}
    elif facts.get("idempotency") == "optional":
        statuses.add(422)
    return sorted(statuses)


def prepare_doc(doc: dict[str, Any], doc_info: dict[str, Any], *, method: str, **_kwargs: Any) -> dict[str, Any]:
    """A flask-smorest doc callback: the problem responses and Markdown docstrings."""
    facts = doc_info.get("ledger", {})
    responses = doc.setdefault("responses", {})
    # Errors a view declares itself (``alt_response``) join those derived from its facts;
    # every one is answered as problem+json, so each points at the shared description.
    declared = {int(k) for k in responses if str(k).startswith(("4", "5"))}
    for key in [k for k in responses if k == "default" or str(k).startswith(("4", "5"))]:
        del responses[key]
    for status in sorted(declared | set(operation_statuses(facts, doc, doc_info, method))):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    if facts.get("idempotency"):
        for status, response in list(responses.items()):
            if str(status).startswith("2") and isinstance(response, dict):
                responses[status] = {**deepcopy(response), "headers": deepcopy(REPLAYED_HEADER)}
    _add_examples(doc, facts.get("endpoint", ""), method)
    docstring = doc_info.get("docstring", {})
    if "summary" in docstring:
        docstring["summary"] = _markdown(docstring["summary"]).replace("`", "")
    if "description" in docstring:
        docstring["description"] = _markdown(docstring["description"])
    return doc
