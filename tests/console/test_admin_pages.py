"""The administration pages (issue 17): scheme rules, sub-funds, banks and users, through
the test client with the CSRF token, as a browser posts them."""

from __future__ import annotations

import json

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

    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "publish"}, follow=False)
    assert r.status_code == 302 and r.location.endswith("/console/rules/GD-KJD/2")
    session.rollback()
    v2 = session.scalar(select(RuleVersion).where(RuleVersion.version == 2))
    assert v2.published_by == "admin" and v2.document["claims"]["per_claim_cap"] == "1000000.00"
    # The same effective date again is refused with the key named.
    r = post_form(client, "/console/rules/draft", "/console/rules/draft",
                  {"rules": json.dumps(document), "action": "publish"})
    assert r.status_code == 422 and 'data-key="effective_from"' in r.get_data(as_text=True)


def test_an_approver_cannot_publish(client, world):
    login(client, "approver")
    r = client.post("/console/rules/draft", data={"rules": "{}", "action": "publish"})
    assert r.status_code in (400, 403)  # no CSRF token or no role: either way nothing happens
