"""SPEC §4a claim dossier: documents uploaded by the owner bank, content-sniffed, at most
20 MB, never replaced, their SHA-256 in the audit chain; a reviewer cannot recommend
approval while a kind in required_documents is missing (409 documents_missing)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from ledger import audit
from ledger.models import AuditEntry

from .helpers import bearer

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def _ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        package.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


@pytest.fixture
def rule_overrides():
    return {"claims": {"required_documents": ["loan_contract", "iou", "collection_evidence"]}}


@pytest.fixture
def world(make_bank, make_user, make_loan, client):
    tokens = {
        "bank": bearer(make_bank("BANK-A")),
        "other_bank": bearer(make_bank("BANK-B")),
        "reviewer": bearer(make_user("reviewer", name="reviewer")),
        "auditor": bearer(make_user("auditor", name="auditor")),
    }
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    r = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                            "outstanding_principal": "1000000.00"},
                    headers={**tokens["bank"], "Idempotency-Key": "c-1"})
    assert r.status_code == 201, r.json
    tokens["claim"] = r.json["id"]
    return tokens


def upload(client, world, kind, data, filename="file.pdf", token="bank"):
    # The multipart body is encoded here: werkzeug's test client would spool a large one
    # to a temporary file it never closes (a ResourceWarning, an error under our settings).
    boundary = "----rcl-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/api/v1/claims/{world['claim']}/documents", headers=world[token], data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def review_approve(client, world):
    return client.post(f"/api/v1/claims/{world['claim']}/review", json={"recommendation": "approve", "comment": "ok"},
                       headers=world["reviewer"])


def test_approval_cannot_be_recommended_while_required_kinds_are_missing(client, world):
    assert upload(client, world, "loan_contract", PDF).status_code == 201
    r = review_approve(client, world)
    assert (r.status_code, r.json["code"]) == (409, "documents_missing")
    assert r.json["missing"] == ["iou", "collection_evidence"]
    claim = client.get(f"/api/v1/claims/{world['claim']}", headers=world["auditor"]).json
    assert claim["status"] == "submitted" and claim["documents_missing"] == ["iou", "collection_evidence"]
    # Rejecting or returning is still possible without the documents; approval once complete.
    assert upload(client, world, "iou", JPEG, "借据.jpg").status_code == 201
    assert upload(client, world, "collection_evidence", _ofd(), "催收.ofd").status_code == 201
    r = review_approve(client, world)
    assert (r.status_code, r.json["status"]) == (200, "reviewed")


@pytest.mark.parametrize(("data", "content_type"), [
    (PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png"), (_ofd(), "application/ofd")])
def test_formats_are_recognised_by_content(client, world, data, content_type):
    # The name says .txt: the bytes decide.
    r = upload(client, world, "loan_contract", data, "scan.txt")
    assert r.status_code == 201, r.json
    assert r.json["content_type"] == content_type
    assert r.json["sha256"] == hashlib.sha256(data).hexdigest() and r.json["size"] == len(data)


@pytest.mark.parametrize("data", [
    b"GIF89a" + b"\x00" * 20,                       # another image format
    b"not a pdf %PDF-1.7",                           # the magic must come first
    zipfile.ZipFile.__name__.encode() + b"PK\x03\x04",  # not a ZIP at all
])
def test_other_content_is_refused_naming_the_file(client, world, data):
    r = upload(client, world, "loan_contract", data, "contract.pdf")
    assert (r.status_code, r.json["code"]) == (422, "unsupported_document")
    assert "file" in r.json["errors"]


def test_a_zip_without_ofd_xml_is_not_ofd(client, world):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("word/document.xml", "<w/>")
    r = upload(client, world, "loan_contract", buffer.getvalue(), "contract.ofd")
    assert (r.status_code, r.json["code"]) == (422, "unsupported_document")


def test_more_than_20_mb_is_413_and_nothing_is_stored(client, world):
    big = PDF + b"\x00" * (20 * 1024 * 1024 - len(PDF) + 1)
    r = upload(client, world, "loan_contract", big)
    assert (r.status_code, r.json["code"]) == (413, "document_too_large")
    assert client.get(f"/api/v1/claims/{world['claim']}/documents", headers=world["bank"]).json["items"] == []
    exactly = PDF + b"\x00" * (20 * 1024 * 1024 - len(PDF))
    assert upload(client, world, "loan_contract", exactly).status_code == 201


def test_a_new_upload_supersedes_and_the_old_stays_readable(client, world):
    first = upload(client, world, "loan_contract", PDF, "v1.pdf").json
    second = upload(client, world, "loan_contract", PDF + b"% amended\n", "v2.pdf").json
    dossier = client.get(f"/api/v1/claims/{world['claim']}/documents", headers=world["reviewer"]).json
    assert [(d["id"], d["current"]) for d in dossier["items"]] == [(first["id"], False), (second["id"], True)]
    contract = next(i for i in dossier["checklist"] if i["kind"] == "loan_contract")
    assert contract == {"kind": "loan_contract", "required": True, "document_id": second["id"]}
    old = client.get(f"/api/v1/claims/{world['claim']}/documents/{first['id']}", headers=world["auditor"])
    assert (old.status_code, old.data, old.mimetype) == (200, PDF, "application/pdf")
    assert "v1.pdf" in old.headers["Content-Disposition"]


def test_the_sha256_is_in_the_audit_chain(client, world, session):
    doc = upload(client, world, "iou", PNG, "iou.png").json
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "claim.document")).one()
    assert entry.after["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert entry.after["document_id"] == doc["id"]
    assert audit.verify_chain(session).ok


def test_who_may_upload_and_read(client, world):
    assert upload(client, world, "iou", PDF, token="reviewer").status_code == 403
    assert upload(client, world, "iou", PDF, token="other_bank").status_code == 404
    doc = upload(client, world, "iou", PDF).json
    path = f"/api/v1/claims/{world['claim']}/documents/{doc['id']}"
    assert client.get(path, headers=world["other_bank"]).status_code == 404
    assert client.get(path, headers=world["reviewer"]).status_code == 200
    assert client.get(path, headers=world["bank"]).status_code == 200


def test_bad_kind_and_missing_fields_name_the_field(client, world):
    r = upload(client, world, "selfie", PDF)
    assert (r.status_code, r.json["code"]) == (422, "unknown_document_kind") and "kind" in r.json["errors"]
    r = client.post(f"/api/v1/claims/{world['claim']}/documents", headers=world["bank"],
                    data={"kind": "iou"}, content_type="multipart/form-data")
    assert r.status_code == 422 and "file" in r.json["errors"]
    r = client.post(f"/api/v1/claims/{world['claim']}/documents", headers=world["bank"], json={"kind": "iou"})
    assert r.status_code == 415


def test_the_dossier_closes_once_reviewed(client, world):
    for kind in ("loan_contract", "iou", "collection_evidence"):
        upload(client, world, kind, PDF)
    assert review_approve(client, world).status_code == 200
    r = upload(client, world, "iou", PDF)
    assert (r.status_code, r.json["code"]) == (409, "dossier_closed")


def test_console_claim_page_shows_the_checklist(client, world, session, monkeypatch):
    from ledger import passwords

    from .console.conftest import FAST_HASH, login

    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)
    passwords.set_password(session, "reviewer", "correct horse battery", actor="test")
    session.commit()
    upload(client, world, "loan_contract", PDF, "合同.pdf")
    login(client, "reviewer", "correct horse battery")
    html = client.get(f"/console/claims/{world['claim']}").get_data(as_text=True)
    assert 'id="checklist"' in html and "合同.pdf" in html
    assert html.count('class="missing"') == 2  # iou and collection_evidence
    document = client.get(f"/console/claims/{world['claim']}/documents/1")
    assert (document.status_code, document.data) == (200, PDF)
