"""The scenario plan: the same seed gives the same plan, and `cases` guarantees each question's hard case."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from temporal_lens.sample_app import model
from temporal_lens.sample_app.queue_ledger import load_queue_waits
from temporal_lens.sample_app.scenario import DEFAULT_CASES, HARD_CASES, SCENARIOS, plan_orders


def _shape(plans) -> list[tuple]:
    return [(p.order, p.scenario, p.work_ms, p.faults, p.new_address) for p in plans]


def _hard_cases(plans) -> Counter:
    """Units of each question's hard case: a retry order counts only when payment fails twice or more."""
    counted = Counter()
    for p in plans:
        failures = p.faults.get(model.AUTHORIZE_PAYMENT, {}).get("transient_failures", 0)
        if p.scenario != "retry" or failures >= 2:
            counted[p.scenario] += 1
    return counted


def test_the_same_seed_gives_the_same_plan() -> None:
    first = plan_orders(12, seed=7, run_tag="t", cases=DEFAULT_CASES)
    assert _shape(first) == _shape(plan_orders(12, seed=7, run_tag="t", cases=DEFAULT_CASES))
    assert _shape(first) != _shape(plan_orders(12, seed=8, run_tag="t", cases=DEFAULT_CASES))


@pytest.mark.parametrize("cases", [1, 2, 3])
def test_cases_plans_at_least_that_many_of_every_hard_case(cases: int) -> None:
    plans = plan_orders(12, seed=7, run_tag="t", cases=cases)
    counted = _hard_cases(plans)
    assert {kind: counted[kind] >= cases for kind in HARD_CASES} == {kind: True for kind in HARD_CASES}, counted
    assert set(SCENARIOS) <= {p.scenario for p in plans}
    assert len({p.order.order_id for p in plans}) == len(plans)


def test_the_default_study_keeps_two_of_every_hard_case() -> None:
    counted = _hard_cases(plan_orders(12, seed=7, run_tag="t", cases=DEFAULT_CASES))
    assert DEFAULT_CASES >= 2 and min(counted[kind] for kind in HARD_CASES) >= 2, counted


def test_without_cases_the_plan_is_the_orders_asked_for() -> None:
    plans = plan_orders(len(SCENARIOS), seed=7, run_tag="t")
    assert sorted(p.scenario for p in plans) == sorted(SCENARIOS)
    assert len(plan_orders(3, seed=7, run_tag="t", scenarios=("happy", "retry", "decline"), cases=1)) == 3


def test_cases_cover_only_the_scenarios_asked_for() -> None:
    plans = plan_orders(3, seed=7, run_tag="t", scenarios=("happy", "decline", "crash"), cases=2)
    assert Counter(p.scenario for p in plans) == Counter({"happy": 1, "decline": 1, "crash": 2})


def test_a_negative_number_of_cases_is_refused() -> None:
    with pytest.raises(ValueError, match="hard cases must be 0 or more, got -1"):
        plan_orders(3, seed=7, run_tag="t", cases=-1)


def test_a_torn_ledger_line_is_named_and_the_lines_around_it_kept(tmp_path: Path) -> None:
    line = {"service": "payments", "order_id": "o1", "workflow_id": "order-o1", "activity_id": "4",
            "step": "authorize_payment", "attempt": 1, "scheduled_at": "2026-11-30T12:00:00+00:00",
            "started_at": "2026-11-30T12:00:00.025000+00:00", "queue_ms": 25.0}
    (tmp_path / "queue-waits-payments.jsonl").write_text(
        json.dumps(line) + "\n" + '{"service": "payments", "order_' + "\n" + json.dumps({**line, "attempt": 2}) + "\n")
    table, errors = load_queue_waits([tmp_path])
    assert table.column("attempt").to_pylist() == [1, 2]
    assert len(errors) == 1 and errors[0].startswith("queue-waits-payments.jsonl:2: not a queue-wait record")
