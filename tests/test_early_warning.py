"""SPEC §4a early warning: monthly series per bank and scheme, flagged within a fifth of
a suspension threshold or when the NPL ratio rose two months running."""

from __future__ import annotations

import pytest

from .helpers import bearer


@pytest.fixture
def world(client, make_bank, make_user, make_loan):
    tokens = {code: bearer(make_bank(code)) for code in ("NEAR", "RISING", "CALM")}
    tokens["auditor"] = bearer(make_user("auditor", name="auditor"))

    def default(bank, loan, on):
        r = client.post(f"/api/v1/loans/{loan.id}/events", json={"type": "default", "on": on}, headers=tokens[bank])
        assert r.status_code == 201, r.json

    # NEAR: 40 loans of 1,000,000.00, one defaults in April: 1/40 = 0.025 >= 4/5 x 0.03 = 0.024.
    near = [make_loan("NEAR", region="440703", categories=["tech_sme"], principal=1_000_000_00) for _ in range(40)]
    default("NEAR", near[0], "2026-04-10")
    # RISING: a large performing book; one small default in each of April, May and June.
    make_loan("RISING", region="440703", categories=["tech_sme"], principal=1_000_000_000_00)
    small = [make_loan("RISING", region="440703", categories=["tech_sme"], principal=1_000_000_00) for _ in range(3)]
    for loan, on in zip(small, ("2026-04-05", "2026-05-05", "2026-06-05"), strict=True):
        default("RISING", loan, on)
    make_loan("CALM", region="440703", categories=["tech_sme"], principal=5_000_000_00)
    return tokens


def test_series_and_flags(client, world):
    r = client.get("/api/v1/early-warning?months=6", headers=world["auditor"])
    assert r.status_code == 200, r.json
    banks = {b["bank"]: b for b in r.json["banks"]}
    near = banks["NEAR"]
    assert [m["month"] for m in near["months"]] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [m["npl_ratio"] for m in near["months"]][2:] == ["0.0000", "0.0250", "0.0250", "0.0250"]
    assert near["months"][-1]["registered"] == "40000000.00"
    assert [(f["code"], f["threshold"]) for f in near["flags"]] == [("near_threshold", "npl_suspend_registrations")]
    rising = banks["RISING"]
    assert [f["code"] for f in rising["flags"]] == ["rising"]
    assert banks["CALM"]["flags"] == []
    # A bank sees its own series only.
    own = client.get("/api/v1/early-warning", headers=world["CALM"]).json["banks"]
    assert [b["bank"] for b in own] == ["CALM"]


def test_console_page_draws_a_chart_per_bank(client, world, session, monkeypatch):
    from ledger import passwords

    from .console.conftest import FAST_HASH, login

    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)
    passwords.set_password(session, "auditor", "correct horse battery", actor="test")
    session.commit()
    login(client, "auditor", "correct horse battery")
    html = client.get("/console/early-warning").get_data(as_text=True)
    assert html.count("<svg") >= 3 and html.count('class="npl-line"') == 3
    assert 'data-bank="NEAR" data-scheme="GD-KJD" data-flagged="1"' in html
    assert 'data-bank="CALM" data-scheme="GD-KJD" data-flagged="0"' in html
