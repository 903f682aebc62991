"""Scenarios are validated strictly, every problem at once, keyed by its path."""

from __future__ import annotations

import pytest

from rules.simulation import ScenarioError, parse_scenario

VALID = {"as_of": "2026-06-30", "horizon_months": 12, "default_rate": "0.02", "recovery_rate": "0.3",
         "runs": 100, "seed": 1}


def errors_of(**changes):  # type: ignore[no-untyped-def]
    data = {**VALID, **changes}
    with pytest.raises(ScenarioError) as info:
        parse_scenario({k: v for k, v in data.items() if v is not ...})
    return info.value.errors


def test_a_valid_scenario_round_trips():
    assert parse_scenario(VALID).to_dict() == {**VALID, "default_rate": "0.02", "recovery_rate": "0.3"}


@pytest.mark.parametrize("changes, path", [
    ({"default_rate": "1.5"}, "default_rate"),
    ({"default_rate": "0.0000001"}, "default_rate"),
    ({"default_rate": 0.02}, "default_rate"),
    ({"default_rate": "-0.1"}, "default_rate"),
    ({"recovery_rate": "0.12345"}, "recovery_rate"),
    ({"runs": 0}, "runs"),
    ({"runs": True}, "runs"),
    ({"horizon_months": 121}, "horizon_months"),
    ({"seed": -1}, "seed"),
    ({"as_of": "20260630"}, "as_of"),
    ({"as_of": "2026-02-30"}, "as_of"),
    ({"runs": ...}, "runs"),
    ({"surprise": 1}, "surprise"),
    ({"default_rate": {"banks": {"B": "0.1"}}}, "default_rate.default"),
    ({"default_rate": {"default": "0.1", "regions": {"44x": "0.1"}}}, "default_rate.regions.44x"),
    ({"default_rate": {"default": "0.1", "zones": {}}}, "default_rate.zones"),
    ({"default_rate": {"default": "0.1", "categories": {"agri_tech": "2"}}}, "default_rate.categories.agri_tech"),
])
def test_each_problem_names_its_path(changes, path):
    assert path in errors_of(**changes)


def test_every_problem_is_reported_at_once():
    assert set(errors_of(runs=0, seed="x", recovery_rate="2")) == {"runs", "seed", "recovery_rate"}
