"""Claims read the matrix with its chance: a source beats another only by more than the moments' sampling allows."""

from __future__ import annotations

import pytest

from temporal_lens.analysis.claims import judge_claims
from temporal_lens.analysis.scoring import ANSWERS, PARTIAL, Cell

_OPEN_STATE = ("open_status", "open_step", "payment_wait")


def _cell(question_id: str, source: str, right: int, total: int) -> Cell:
    verdict = ANSWERS if right == total else PARTIAL
    return Cell(question_id, question_id, source, verdict, right / total, f"{right} of {total}", right, total)


def _open_state_verdict(in_place: dict[str, tuple[int, int]], best_other: dict[str, tuple[int, int]]) -> str:
    cells = [_cell(q, "temporal", *in_place[q]) for q in _OPEN_STATE]
    cells += [_cell(q, "logs", *best_other[q]) for q in _OPEN_STATE]
    (claim,) = [c for c in judge_claims(cells) if c.id == "open_state"]
    return claim.verdict


@pytest.mark.parametrize(("in_place", "best_other", "verdict"), [
    # a default run's figures: one moment apart on open_step, level on all three: not "contradicted"
    ({"open_status": (90, 91), "open_step": (35, 42), "payment_wait": (8, 9)},
     {"open_status": (91, 91), "open_step": (36, 42), "payment_wait": (9, 9)}, "partly"),
    # clearly behind on the status, level on the rest
    ({"open_status": (79, 98), "open_step": (54, 58), "payment_wait": (8, 12)},
     {"open_status": (98, 98), "open_step": (48, 58), "payment_wait": (12, 12)}, "partly"),
    # clearly behind everywhere
    ({"open_status": (50, 100), "open_step": (40, 100), "payment_wait": (10, 40)},
     {"open_status": (99, 100), "open_step": (90, 100), "payment_wait": (39, 40)}, "contradicted"),
    # clearly ahead on one, level on the others
    ({"open_status": (99, 100), "open_step": (95, 100), "payment_wait": (9, 9)},
     {"open_status": (98, 100), "open_step": (60, 100), "payment_wait": (9, 9)}, "supported"),
])
def test_open_state_compares_sources_beyond_chance(in_place, best_other, verdict) -> None:
    assert _open_state_verdict(in_place, best_other) == verdict
