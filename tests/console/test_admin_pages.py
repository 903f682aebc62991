"""The administration pages (issue 17): scheme rules, sub-funds, banks and users, through
the test client with the CSRF token, as a browser posts them."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from ledger.models import RuleVersion, Scheme

from .conftest import csrf_from, login, post_form


def _draft(world_version_document: dict, **changes) -> dict:  # type: ignore[no-untyped-def]
    document = json.loads(json.dumps(world_version_document))
    for path, value in changes.items():
        section, _, key = path.partition(".")
        if key:
            document[section][key] = value
        else:
            document[section] = value
    return document


def _gd_document(session) -> dict:  # type: ignore[no-untyped-def]
    return session.scalar(select(RuleVersion).join(Scheme).where(Scheme.code == "GD-KJD")).document


# -- scheme rules -------------------------------------------------------------------------


def test_a_version_reads_as_tables(client, world, session):
    login(client, "reviewer")
    page = client.get("/console/rules").get_data(as_text=True)
    assert 'data-scheme="GD-KJD" data-version="1"' in page
    html = client.get("/console/rules/GD-KJD/1").get_data(as_text=True)
    # The claims caps, the uplifts and every payer with its share, as rows of a table.
    assert "per_claim_cap" in html and "GD-PROV" in html and "rule-payers" in html
    assert "440700 江门市" in html  # region ratios name their region (SPEC §2)
    claims = html[html.index("rule-claims"):]
    assert claims.index("单笔补偿上限") < claims.index("5000000.00")  # the cap in words, with its figure
    assert client.get("/console/rules/GD-KJD/9").status_code == 404
    # A reviewer reads rules but may not draft them.
    assert client.get("/console/rules/draft").status_code == 403


def test_invalid_draft_names_each_bad_key_and_publishes_nothing(client, world, session):
    login(client, "admin")
    document = _draft(_gd_document(session), **{"base_ratio": "1.70", "claims.per_claim_cap": "-5"})
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "publish"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'data-key="base_ratio"' in html and 'data-key="claims.per_claim_cap"' in html
    assert 'id="publish"' not in html
    session.rollback()
    assert session.scalar(select(RuleVersion.version).order_by(RuleVersion.version.desc()).limit(1)) == 1


def test_unreadable_toml_is_reported(client, world):
    login(client, "admin")
    r = post_form(client, "/console/rules/draft", "/console/rules/draft", {"rules": "scheme = ", "action": "check"})
    assert r.status_code == 422 and 'id="draft-unreadable"' in r.get_data(as_text=True)


def test_check_shows_the_diff_and_the_whatif_then_publish(client, world, session):
    login(client, "admin")
    document = _draft(_gd_document(session), **{"effective_from": "2026-09-01", "claims.per_claim_cap": "1000000.00"})
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "check"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    # Key by key against v1: the two changed keys, nothing else.
    diff = html[html.index('id="draft-diff"'):html.index('id="draft-whatif"')]
    assert diff.count('<tr class="diff-') == 2
    assert 'data-key="claims.per_claim_cap"' in diff and "5000000.00" in diff and "1000000.00" in diff
    # The what-if: draft against current per sub-fund, from the simulation's partial.
    assert "simulation-comparison" in html and 'data-subfund="GD-PROV"' in html
    assert 'id="publish"' in html
    session.rollback()
    assert session.scalar(select(RuleVersion.version).order_by(RuleVersion.version.desc()).limit(1)) == 1

    checked = re.search(r'name="checked" value="([0-9a-f]{64})"', html).group(1)
    # A draft changed after "Check" is not published: it is checked (and its diff shown) again.
    edited = {**document, "base_ratio": "0.55"}
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(edited), "action": "publish", "checked": checked})
    assert r.status_code == 200 and 'data-key="base_ratio"' in r.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(RuleVersion.version).order_by(RuleVersion.version.desc()).limit(1)) == 1

    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "publish", "checked": checked}, follow=False)
    assert r.status_code == 302 and r.location.endswith("/console/rules/GD-KJD/2")
    session.rollback()
    v2 = session.scalar(select(RuleVersion).where(RuleVersion.version == 2))
    assert v2.published_by == "admin" and v2.document["claims"]["per_claim_cap"] == "1000000.00"
    # The same effective date again is refused with the key named.
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "publish", "checked": checked})
    assert r.status_code == 422 and 'data-key="effective_from"' in r.get_data(as_text=True)


def test_an_approver_cannot_publish(client, world):
    login(client, "approver")
    r = client.post("/console/rules/draft", data={"rules": "{}", "action": "publish"})
    assert r.status_code in (400, 403)  # no CSRF token or no role: either way nothing happens


# -- sub-funds ----------------------------------------------------------------------------


def _balances(session, code: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from ledger import subfunds

    session.rollback()
    return subfunds.balances(session, subfunds.get_subfund(session, code))


def test_open_a_subfund_and_fund_it(client, world, session):
    login(client, "admin")
    r = post_form(client, "/console/subfunds/new", "/console/subfunds/new",
                  {"code": "COUNTY-440703", "name": "蓬江区科技信贷风险补偿资金", "owner_type": "county", "region": "440703"},
                  follow=False)
    assert r.status_code == 302 and r.location.endswith("/console/subfunds/COUNTY-440703")
    page = "/console/subfunds/COUNTY-440703"
    r = post_form(client, page, f"{page}/contributions",
                  {"amount": "2500000.00", "received_on": "2026-06-30", "reference": "PJ-2026-001"})
    assert "已登记出资 ¥2,500,000.00" in r.get_data(as_text=True)
    assert _balances(session, "COUNTY-440703")["available"] == 2_500_000_00
    # The same reference again books nothing new.
    r = post_form(client, page, f"{page}/contributions",
                  {"amount": "2500000.00", "received_on": "2026-06-30", "reference": "PJ-2026-001"})
    assert _balances(session, "COUNTY-440703")["available"] == 2_500_000_00
    html = client.get(page).get_data(as_text=True)
    assert "PJ-2026-001" in html and "440703 江门市蓬江区" in html  # the movement is listed


def test_contributions_follow_the_apis_money_and_date_rules(client, world, session):
    login(client, "admin")
    page = "/console/subfunds/GD-PROV"
    before = _balances(session, "GD-PROV")["available"]
    for amount, received_on in [("1,000.00", "2026-06-30"),   # grouping is not a number on the wire
                                ("100.001", "2026-06-30"),    # no fractions of a fen
                                ("0", "2026-06-30"),          # a contribution is positive
                                ("100.00", "2026-07-01"),     # after the business date
                                ("100.00", "30/06/2026")]:    # ISO dates only
        r = post_form(client, page, f"{page}/contributions",
                      {"amount": amount, "received_on": received_on, "reference": f"R-{amount}-{received_on}"})
        assert 'class="flash error"' in r.get_data(as_text=True), (amount, received_on)
    assert _balances(session, "GD-PROV")["available"] == before


def test_a_bad_subfund_form_names_the_field_and_creates_nothing(client, world, session):
    from ledger.models import SubFund

    login(client, "admin")
    r = post_form(client, "/console/subfunds/new", "/console/subfunds/new",
                  {"code": "city-x", "name": "x", "owner_type": "city", "region": "999999"})
    assert r.status_code == 422 and 'id="form-error"' in r.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(SubFund).where(SubFund.name == "x")) is None


def test_only_the_fund_admin_changes_subfunds(client, world):
    login(client, "approver")
    assert client.get("/console/subfunds/GD-PROV").status_code == 200
    assert 'id="contribution-form"' not in client.get("/console/subfunds/GD-PROV").get_data(as_text=True)
    token = csrf_from(client.get("/console/subfunds").get_data(as_text=True))
    r = client.post("/console/subfunds/GD-PROV/contributions",
                    data={"amount": "1.00", "received_on": "2026-06-30", "reference": "X", "csrf_token": token})
    assert r.status_code == 403


# -- banks, users and tokens --------------------------------------------------------------


def _token_on(html: str) -> str:
    import re

    match = re.search(r'id="new-token" class="secret">([^<]+)<', html)
    assert match, "no token on the page"
    return match.group(1)


def test_admit_a_bank_and_its_token_works_once_shown(client, world, session):
    login(client, "admin")
    r = post_form(client, "/console/users", "/console/banks/new", {"code": "BANK-JM", "name": "江门农商银行"})
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    token = _token_on(r.get_data(as_text=True))
    assert client.get("/api/v1/loans", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Listed afterwards without the secret.
    page = client.get("/console/users").get_data(as_text=True)
    assert 'data-bank="BANK-JM"' in page and 'data-user="bank-BANK-JM"' in page and token not in page
    # A second, named token for the bank's user; then revoked on the tokens page.
    from ledger.models import User

    session.rollback()
    user_id = session.scalar(select(User.id).where(User.name == "bank-BANK-JM"))
    r = post_form(client, "/console/users", f"/console/users/{user_id}/tokens", {"name": "贷后系统"})
    second = _token_on(r.get_data(as_text=True))
    assert client.get("/api/v1/loans", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    from ledger.models import ApiToken

    session.rollback()
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "贷后系统"))
    post_form(client, "/console/tokens", f"/console/tokens/{token_id}/revoke")
    assert client.get("/api/v1/loans", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert client.get("/api/v1/loans", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_bank_roles_are_exclusive_and_users_get_console_passwords(client, world, session):
    from ledger.models import User

    login(client, "admin")
    r = client.post("/console/users/new", data={"name": "mixed", "roles": ["bank", "approver"], "bank": "BANK-A",
                                                "csrf_token": csrf_from(client.get("/console/users").get_data(as_text=True))},
                    follow_redirects=True)
    assert 'class="flash error"' in r.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(User).where(User.name == "mixed")) is None

    r = client.post("/console/users/new", data={"name": "li.wei", "roles": ["reviewer", "approver"],
                                                "csrf_token": csrf_from(client.get("/console/users").get_data(as_text=True))})
    assert _token_on(r.get_data(as_text=True)).startswith("rcl_")
    session.rollback()
    user = session.scalar(select(User).where(User.name == "li.wei"))
    assert user.roles == {"reviewer", "approver"}
    r = post_form(client, "/console/users", f"/console/users/{user.id}/password", {"password": "short"})
    assert 'class="flash error"' in r.get_data(as_text=True)
    post_form(client, "/console/users", f"/console/users/{user.id}/password", {"password": "a long enough secret"})
    assert login(client, "li.wei", "a long enough secret").status_code == 302
    assert client.get("/console/claims").status_code == 200


def test_an_auditor_reads_users_and_changes_nothing(client, world):
    login(client, "auditor")
    page = client.get("/console/users").get_data(as_text=True)
    assert 'data-user="admin"' in page and 'id="bank-form"' not in page
    token = csrf_from(client.get("/console/claims").get_data(as_text=True))
    assert client.post("/console/banks/new", data={"code": "BANK-X", "name": "x", "csrf_token": token}).status_code == 403


# -- the loan book ------------------------------------------------------------------------


def test_loan_book_filters_totals_and_exports(client, world, make_bank, make_loan):
    from io import BytesIO

    from openpyxl import load_workbook

    make_bank("BANK-B")
    make_loan("BANK-B", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    login(client, "auditor")
    everything = client.get("/console/loans").get_data(as_text=True)
    assert "合计（3 笔）" in everything
    jiangmen = client.get("/console/loans?region=4407").get_data(as_text=True)
    # Two Jiangmen loans (SPEC example 2 at BANK-A, one at BANK-B): 3,000,000.00 + 1,000,000.00.
    assert "合计（2 笔）" in jiangmen and "¥4,000,000.00" in jiangmen
    only_b = client.get("/console/loans?bank=BANK-B&region=4407").get_data(as_text=True)
    assert "合计（1 笔）" in only_b and "¥1,000,000.00" in only_b
    assert client.get("/console/loans?status=lost").status_code == 422
    assert "合计（0 笔）" in client.get("/console/loans?vintage=1999").get_data(as_text=True)

    r = client.get("/console/loans.xlsx?region=4407")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(BytesIO(r.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3  # the header and the two Jiangmen loans
    principal = rows[0].index("本金")
    assert sorted(str(row[principal]) for row in rows[1:]) == ["1000000", "3000000"]


def test_a_bank_has_its_own_page(client, world):
    login(client, "reviewer")
    html = client.get("/console/banks/BANK-A").get_data(as_text=True)
    assert 'data-bank="BANK-A"' in html and "GD-KJD" in html
    assert 'id="npl-trend"' in html and "<svg" in html[html.index('id="npl-trend"'):]  # its NPL trend, server-drawn
    assert client.get("/console/banks/NOPE").status_code == 404


def test_the_english_administration_pages_have_no_chinese_ui_text(client, world, session):
    """Only data (scheme documents' comments are not kept; names of banks and funds are
    data) may be Chinese on the English pages."""
    import re

    login(client, "admin")
    post_form(client, "/console/claims", "/console/lang", {"lang": "en"})
    document = _gd_document(session)
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps({**document, "effective_from": "2026-09-01"}), "action": "check"})
    pages = {"draft-check": r.get_data(as_text=True)}
    for path in ("/console/rules", "/console/rules/GD-KJD/1", "/console/rules/draft", "/console/subfunds/new", "/console/loans?bank=BANK-A&status=lost"):
        pages[path] = client.get(path).get_data(as_text=True)
    for name, html in pages.items():
        body = html[html.index("<main"):]
        # Region names are data; strip them (code then name) before looking.
        body = re.sub(r"\d{6} [\u4e00-\u9fff]+", "", body)
        assert not re.search(r"[\u4e00-\u9fff]", body), (name, re.findall(r".{30}[\u4e00-\u9fff]+.{10}", body)[:3])
