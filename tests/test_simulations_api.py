"""POST /api/v1/simulations (SPEC §8): the exactness anchor against the quote API,
nothing recorded, strict scenarios, drafts, roles and the portfolio as of a date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import rules
from ledger import subfunds
from ledger.models import Account, LoanEvent

from .conftest import EXAMPLE_RULES
from .helpers import bearer, row_counts

# Varied live loans: (bank, region, categories, principal, outstanding) in yuan.
LOANS = [
    ("BANK-A", "440106", ["tech_sme"], "2000000.00", "1500000.00"),
    ("BANK-A", "440703", ["tech_sme", "agri_tech"], "3000000.00", "3000000.00"),
    ("BANK-B", "440511", ["high_tech", "agri_tech", "specialized_town"], "8000000.00", "7654321.09"),
    ("BANK-B", "441900", ["tech_sme"], "1000000.00", "333333.33"),
    ("BANK-A", "445102", ["high_tech", "specialized_town"], "4567890.12", "4000000.01"),
    ("BANK-B", "440304", ["high_tech"], "999999.99", "123456.79"),
    ("BANK-A", "441702", ["tech_sme", "agri_tech"], "7777777.77", "7777777.77"),
    ("BANK-B", "440705", ["tech_sme", "specialized_town"], "250000.01", "250000.01"),
]


@pytest.fixture
def rule_overrides():
    # The anchor needs no history cap to bind: the annual cap is lifted.
    return {"claims": {"per_bank_annual_cap": "9000000000000.00"}}


@pytest.fixture
def portfolio(make_bank, make_loan):
    make_bank("BANK-A")
    make_bank("BANK-B")
    return [make_loan(bank, region=region, categories=cats, principal=rules.money.parse_amount(principal),
                      outstanding=rules.money.parse_amount(outstanding))
            for bank, region, cats, principal, outstanding in LOANS]


@pytest.fixture
def auditor(make_user):
    return bearer(make_user("auditor"))


def scenario(**changes):
    data = {"as_of": "2026-06-30", "horizon_months": 12, "default_rate": "1", "recovery_rate": "0",
            "runs": 1, "seed": 42}
    data.update(changes)
    return data


def test_everything_defaulting_pays_what_the_quotes_add_up_to(client, portfolio, auditor):
    expected: dict[str, int] = {}
    for _bank, region, categories, principal, outstanding in LOANS:
        r = client.post("/api/v1/schemes/GD-KJD/quote", headers=auditor, json={
            "region": region, "categories": categories, "loan_principal": principal,
            "outstanding_principal": outstanding, "disbursed_on": "2026-01-15"})
        assert r.status_code == 200, r.json
        for line in r.json["payers"]:
            expected[line["subfund"]] = expected.get(line["subfund"], 0) + rules.money.parse_amount(line["amount"])
    r = client.post("/api/v1/simulations", headers=auditor, json={"scheme": "GD-KJD", "scenario": scenario()})
    assert r.status_code == 200, r.json
    answer = r.json
    assert answer["loans"] == len(LOANS)
    assert answer["draft"] is None
    paid = {row["subfund"]: row["expected_payout"] for row in answer["current"]["subfunds"]}
    assert paid == {code: rules.money.format_amount(fen) for code, fen in expected.items()}
    assert {row["subfund"]: row["p99_payout"] for row in answer["current"]["subfunds"]} == paid


def test_a_simulation_records_nothing(client, portfolio, session, make_user):
    token = bearer(make_user("fund_admin"))
    before = row_counts(session)
    balances = dict(session.execute(select(Account.code, Account.balance)).all())
    r = client.post("/api/v1/simulations", headers=token, json={
        "scheme": "GD-KJD", "rules": rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document,
        "scenario": scenario(default_rate="0.3", recovery_rate="0.2", runs=50)})
    assert r.status_code == 200, r.json
    assert row_counts(session) == before
    session.expire_all()
    assert dict(session.execute(select(Account.code, Account.balance)).all()) == balances


def test_the_same_seed_answers_the_same_bytes(client, portfolio, auditor):
    body = {"scheme": "GD-KJD", "scenario": scenario(default_rate="0.4", runs=300, seed=9)}
    first = client.post("/api/v1/simulations", headers=auditor, json=body).data
    assert client.post("/api/v1/simulations", headers=auditor, json=body).data == first
    other = {"scheme": "GD-KJD", "scenario": scenario(default_rate="0.4", runs=300, seed=10)}
    assert client.post("/api/v1/simulations", headers=auditor, json=other).data != first


def test_a_draft_is_answered_beside_the_rules_in_force(client, portfolio, auditor):
    document = rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document
    document["base_ratio"] = "0.60"
    r = client.post("/api/v1/simulations", headers=auditor,
                    json={"scheme": "GD-KJD", "rules": document, "scenario": scenario()})
    assert r.status_code == 200, r.json
    current = {row["subfund"]: rules.money.parse_amount(row["expected_payout"]) for row in r.json["current"]["subfunds"]}
    draft = {row["subfund"]: rules.money.parse_amount(row["expected_payout"]) for row in r.json["draft"]["subfunds"]}
    assert draft["GD-PROV"] > current["GD-PROV"]
    assert draft["CITY-440700"] == current["CITY-440700"]  # Jiangmen has its own ratio
    # The draft was not published.
    assert [v["version"] for v in client.get("/api/v1/schemes/GD-KJD/rules", headers=auditor).json] == [1]


@pytest.mark.parametrize("body, field, code", [
    ({"scenario": scenario(runs=0)}, "scenario.runs", None),
    ({"scenario": scenario(runs="10")}, "scenario.runs", None),
    ({"scenario": scenario(as_of="2026-6-30")}, "scenario.as_of", None),
    ({"scenario": scenario(default_rate="1.01")}, "scenario.default_rate", "invalid_scenario"),
    ({"scenario": scenario(default_rate={"default": "0.1", "regions": {"44x": "0.2"}})},
     "scenario.default_rate.regions.44x", "invalid_scenario"),
    ({"scenario": scenario(recovery_rate="0.12345")}, "scenario.recovery_rate", None),
    ({"scenario": {**scenario(), "extra": 1}}, "scenario.extra", None),
    ({"scenario": scenario(), "rules": {"scheme": "GD-KJD", "effective_from": "2027-01-01", "base_ratio": "2",
                                        "payers": [{"subfund": "GD-PROV", "share": "1"}]}},
     "rules.base_ratio", "invalid_rules"),
])
def test_bad_requests_are_problems_naming_the_field(client, portfolio, auditor, session, body, field, code):
    before = row_counts(session)
    r = client.post("/api/v1/simulations", headers=auditor, json={"scheme": "GD-KJD", **body})
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in r.json["errors"], r.json
    if code:
        assert r.json["code"] == code
    assert row_counts(session) == before


def test_a_request_too_large_for_one_request_names_the_runs_that_fit(app, client, portfolio, auditor):
    app.config["SIMULATION_MAX_LOAN_RUNS"] = 8 * 100  # the portfolio has 8 loans
    r = client.post("/api/v1/simulations", headers=auditor, json={"scheme": "GD-KJD", "scenario": scenario(runs=101)})
    assert r.status_code == 422
    assert r.json["code"] == "simulation_too_large"
    assert r.json["errors"] == {"scenario.runs": ["at most 100 for this portfolio"]}
    assert client.post("/api/v1/simulations", headers=auditor,
                       json={"scheme": "GD-KJD", "scenario": scenario(runs=100)}).status_code == 200


def test_an_unknown_scheme_is_404(client, auditor, gd_scheme):
    r = client.post("/api/v1/simulations", headers=auditor, json={"scheme": "XX-NONE", "scenario": scenario()})
    assert r.status_code == 404
    assert r.json["code"] == "scheme_not_found"


def test_banks_may_not_simulate(client, portfolio, make_bank):
    r = client.post("/api/v1/simulations", headers=bearer(make_bank("BANK-C")),
                    json={"scheme": "GD-KJD", "scenario": scenario()})
    assert r.status_code == 403


def test_the_portfolio_is_read_as_of_the_date(client, portfolio, auditor, session):
    # Loan 0 was repaid on 2026-05-01; a contribution arrives after the date.
    session.add(LoanEvent(loan_id=portfolio[0].id, type="repaid", on=date(2026, 5, 1), amount=150_000_000,
                          outstanding_after=0, status_after="repaid", created_by="test"))
    portfolio[0].status, portfolio[0].outstanding = "repaid", 0
    subfunds.contribute(session, "INS-PICC", amount=1_00, received_on=date(2026, 7, 1), reference="LATE",
                        actor="test")
    session.commit()
    before = client.post("/api/v1/simulations", headers=auditor,
                         json={"scheme": "GD-KJD", "scenario": scenario(as_of="2026-04-30")}).json
    after = client.post("/api/v1/simulations", headers=auditor,
                        json={"scheme": "GD-KJD", "scenario": scenario(as_of="2026-06-30")}).json
    assert before["loans"] == len(LOANS)
    assert after["loans"] == len(LOANS) - 1
    ins = {row["subfund"]: row["available"] for row in after["current"]["subfunds"]}["INS-PICC"]
    assert ins == "100000000.00"  # the July contribution is not yet there
    nothing = client.post("/api/v1/simulations", headers=auditor,
                          json={"scheme": "GD-KJD", "scenario": scenario(as_of="2026-01-14")}).json
    assert nothing["loans"] == 0


# -- ledger-admin simulate ----------------------------------------------------------------


def test_the_cli_writes_a_workbook_a_report_and_the_apis_bytes(client, runner, portfolio, auditor, tmp_path):
    import io
    import json

    import openpyxl
    import pypdf

    (tmp_path / "stress.toml").write_text(
        'as_of = 2026-06-30\nhorizon_months = 12\nrecovery_rate = "0.3"\nruns = 5\nseed = 77\n'
        '[default_rate]\ndefault = "0.2"\nregions = { "4405" = "0.5" }\n', encoding="utf-8")
    draft = (EXAMPLE_RULES / "gd-kjd.toml").read_text(encoding="utf-8").replace(
        'base_ratio = "0.50"', 'base_ratio = "0.60"')
    (tmp_path / "draft.toml").write_text(draft, encoding="utf-8")
    out = {name: tmp_path / name for name in ("r.xlsx", "r.pdf", "r.json")}
    result = runner.invoke(args=["simulate", "GD-KJD", "--scenario", str(tmp_path / "stress.toml"), "--runs", "40",
                                 "--rules", str(tmp_path / "draft.toml"), "--xlsx", str(out["r.xlsx"]),
                                 "--pdf", str(out["r.pdf"]), "--json", str(out["r.json"]), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "GD-PROV" in result.output
    answer = json.loads(out["r.json"].read_bytes())
    assert answer["scenario"]["runs"] == 40  # the flag won over the file
    # The API gives the same bytes for the same request.
    with open(tmp_path / "draft.toml", "rb") as f:
        import tomllib

        document = tomllib.load(f)
    api = client.post("/api/v1/simulations", headers=auditor, json={
        "scheme": "GD-KJD", "rules": json.loads(json.dumps(document, default=str)),
        "scenario": answer["scenario"]})
    assert api.status_code == 200, api.json
    assert api.data == out["r.json"].read_bytes()

    book = openpyxl.load_workbook(io.BytesIO(out["r.xlsx"].read_bytes()))
    sheet = book["current-subfunds"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    gd = next(r for r in answer["current"]["subfunds"] if r["subfund"] == "GD-PROV")
    assert str(rows["GD-PROV"][3]) == gd["expected_payout"]
    assert "draft-subfunds" in book.sheetnames
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(out["r.pdf"].read_bytes())).pages)
    assert "GD-PROV" in text and "Draft against the rules in force" in text


def test_the_cli_names_a_bad_scenario_field(runner, portfolio, tmp_path):
    result = runner.invoke(args=["simulate", "GD-KJD", "--runs", "0", "--horizon", "12", "--default-rate", "0.1",
                                 "--recovery-rate", "0", "--seed", "1", "--xlsx", str(tmp_path / "x.xlsx"),
                                 "--pdf", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0
    assert "scenario.runs" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_loans_already_defaulted_are_paid_whatever_the_scenario(client, make_bank, make_loan, auditor, session):
    make_bank("BANK-A")
    defaulted = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=2_000_000_00)
    session.add(LoanEvent(loan_id=defaulted.id, type="default", on=date(2026, 5, 20), amount=None,
                          outstanding_after=3_000_000_00, status_after="defaulted", created_by="test"))
    defaulted.status = "defaulted"
    session.commit()
    answer = client.post("/api/v1/simulations", headers=auditor, json={
        "scheme": "GD-KJD", "scenario": scenario(default_rate="0", runs=20)}).json
    # SPEC example 2: 2,100,000.00 in every run, in the first month; the active loan never defaults.
    paid = {row["subfund"]: (row["expected_payout"], row["p99_payout"]) for row in answer["current"]["subfunds"]}
    assert paid == {"GD-PROV": ("1050000.00", "1050000.00"), "CITY-440700": ("630000.00", "630000.00"),
                    "INS-PICC": ("420000.00", "420000.00")}


def test_a_running_simulation_leaves_the_ledger_writable(client, portfolio, auditor, database_url, monkeypatch):
    """On SQLite a request's writing session holds the database's write lock: a simulation
    must end that transaction before it runs, or every writer would wait for it."""
    import sqlite3

    from ledger import simulations as service

    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL readers never block writers")
    path = database_url.removeprefix("sqlite:///")
    seen = []
    real = service.simulation.simulate

    def simulate_while_writing(*args, **kwargs):  # type: ignore[no-untyped-def]
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the request held it
            other.execute("ROLLBACK")
            seen.append("wrote")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(service.simulation, "simulate", simulate_while_writing)
    r = client.post("/api/v1/simulations", headers=auditor, json={"scheme": "GD-KJD", "scenario": scenario()})
    assert r.status_code == 200, r.json
    assert seen == ["wrote"]


def test_the_openapi_document_describes_the_scenario_without_dangling_references(client):
    spec = client.get("/api/v1/openapi.json").json
    refs: list[str] = []

    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref" and isinstance(v, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    components = spec["components"]["schemas"]
    assert [r for r in refs if r.startswith("#/components/schemas/")
            and r.removeprefix("#/components/schemas/") not in components] == []
    rate = components["ScenarioIn"]["properties"]["default_rate"]
    assert [option.get("type") for option in rate["oneOf"]] == ["string", "object"]
