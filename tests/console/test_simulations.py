"""The console's simulation page (SPEC §8): scenario form, draft rules pasted or
uploaded, results with charts and the draft-against-current table; nothing recorded."""

from __future__ import annotations

import io
import re

from tests.conftest import EXAMPLE_RULES
from tests.helpers import row_counts

from .conftest import csrf_from, login

PAGE = "/console/simulations"
SCENARIO = {"scheme": "GD-KJD", "as_of": "2026-06-30", "horizon_months": "12", "default_rate": "1",
            "recovery_rate": "0", "runs": "1", "seed": "5"}


def run(client, data, **files):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(PAGE, data={**data, **files, "csrf_token": token}, content_type="multipart/form-data")


def cells(html: str, table: str, subfund: str) -> list[str]:
    section = html[html.index(f'class="list {table}"'):]
    row = section[section.index(f'data-subfund="{subfund}"'):]
    row = row[:row.index("</tr>")]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_everything_defaulting_shows_the_calculators_figures(client, world, session):
    login(client, "auditor")
    before = row_counts(session)
    page = run(client, SCENARIO)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="simulation-result"' in html
    # world: a Guangzhou loan of 500,000,000.00 (0.50 of it capped by per_claim_cap at
    # 5,000,000.00, 80 % to GD-PROV: its own half and the missing city's 30 %) and SPEC
    # example 2, already claimed (GD-PROV 1,050,000.00).
    row = cells(html, "simulation-subfunds", "GD-PROV")
    assert row[:4] == ["GD-PROV", "¥100,000,000.00", "¥5,050,000.00", "¥5,050,000.00"]  # available, contingent, expected
    assert "<svg" in html and "bar-p99" in html
    assert row_counts(session) == before


def test_a_pasted_draft_is_compared_with_the_rules_in_force(client, world):
    login(client, "admin")
    draft = (EXAMPLE_RULES / "gd-kjd.toml").read_text(encoding="utf-8").replace('ratio = "0.60"', 'ratio = "0.50"')
    html = run(client, {**SCENARIO, "rules": draft}).get_data(as_text=True)
    row = cells(html, "simulation-comparison", "GD-PROV")
    # Jiangmen at 0.50 (+0.10 agri_tech): example 2 pays 1,800,000.00, GD-PROV half of it.
    assert row[:4] == ["GD-PROV", "¥5,050,000.00", "¥4,900,000.00", "-¥150,000.00"]


def test_an_uploaded_draft_file_is_read(client, world):
    login(client, "reviewer")
    draft = (EXAMPLE_RULES / "gd-kjd.toml").read_bytes().replace(b'ratio = "0.60"', b'ratio = "0.50"')
    html = run(client, SCENARIO, rules_file=(io.BytesIO(draft), "draft.toml")).get_data(as_text=True)
    assert 'class="list simulation-comparison"' in html


def test_problems_are_shown_and_nothing_runs(client, world):
    login(client, "approver")
    html = run(client, {**SCENARIO, "runs": "0"}).get_data(as_text=True)
    assert 'id="simulation-result"' not in html
    assert "runs" in html and 'role="alert"' in html
    html = run(client, {**SCENARIO, "rules": 'scheme = "GD-KJD"\nbase_ratio = "2"'}).get_data(as_text=True)
    assert 'id="simulation-result"' not in html and 'role="alert"' in html
