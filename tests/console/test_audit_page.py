"""The audit log as an officer reads it (issue 17): actions in words, a field-by-field
diff instead of JSON, filters, and links to what an entry concerns."""

from __future__ import annotations

from .conftest import api_review, login


def _rows(html: str) -> list[str]:
    body = html[html.index('id="audit-entries"'):]
    return body.split('<tr><td class="num">')[1:]


def test_entries_read_as_words_with_a_diff_and_a_link(client, world):
    api_review(client, world)
    login(client, "auditor")
    html = client.get("/console/audit?action=claim.review").get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 1
    row = rows[0]
    assert "审查理赔" in row and "claim.review" not in row.replace('data-action="claim.review"', "")
    assert f'href="/console/claims/{world.claim_id}"' in row  # the claim it concerns
    # before/after field by field: the status went from submitted to reviewed.
    assert '<tr class="changed" data-field="status"><th>状态</th>' in row
    assert "<del>已提交</del> → <ins>已审查</ins>" in row  # statuses in words, no raw codes
    assert "{&#34;" not in row and '{"' not in row  # no raw JSON


def test_filters_by_actor_action_entity_and_date(client, world):
    login(client, "auditor")
    everything = _rows(client.get("/console/audit").get_data(as_text=True))
    submits = _rows(client.get("/console/audit?action=claim.submit").get_data(as_text=True))
    assert 0 < len(submits) < len(everything) and all('data-action="claim.submit"' in r for r in submits)
    subfunds = _rows(client.get("/console/audit?entity_type=subfund").get_data(as_text=True))
    assert subfunds and all("子基金" in r for r in subfunds)
    import re

    actor = re.search(r'actor=([^"&]+)"', submits[0]).group(1)
    mine = _rows(client.get(f"/console/audit?actor={actor}").get_data(as_text=True))
    assert mine and all(f'actor={actor}"' in r for r in mine)
    by_nobody = client.get("/console/audit?actor=nobody-at-all").get_data(as_text=True)
    assert 'id="audit-entries"' not in by_nobody
    # Dates are Beijing business days, inclusive; nothing was recorded in 2001.
    assert 'id="audit-entries"' not in client.get("/console/audit?from=2001-01-01&to=2001-12-31").get_data(as_text=True)
    assert len(_rows(client.get("/console/audit?from=2001-01-01").get_data(as_text=True))) == len(everything)


def test_english_audit_log_is_in_english(client, world):
    login(client, "auditor")
    with client.session_transaction() as s:
        s["lang"] = "en"
    html = client.get("/console/audit?action=claim.submit").get_data(as_text=True)
    assert "claim submitted" in html and "提交理赔申请" not in html


def test_english_claim_page_names_computation_steps_in_words(client, world):
    """Issue 17: the English page explains the computation in words, not rule keys."""
    from .conftest import post_form

    login(client, "reviewer")
    post_form(client, "/console/claims", "/console/lang", {"lang": "en"})
    html = client.get(f"/console/claims/{world.claim_id}").get_data(as_text=True)
    steps = html[html.index('id="steps"'):html.index("</ol>", html.index('id="steps"'))]
    assert "Regional ratio: 440700 → 0.60" in steps and "Compensation: " in steps
    assert "region_ratio:" not in steps and "max_ratio:" not in steps and "->" not in steps
