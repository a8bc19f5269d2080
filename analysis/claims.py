"""The premise's claims, each judged from the answerability cells it cites."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from temporal_lens.analysis.catalogue import CATALOGUE, PER_ORDER_MEASURE
from temporal_lens.analysis.causes import PAYLOAD_NOT_RECORDED, RUN_DELETED, Cause
from temporal_lens.analysis.scoring import ANSWERS, CANNOT, NO_DATA, PARTIAL, Cell

SUPPORTED, CONTRADICTED, PARTLY, NOT_MEASURED = "supported", "contradicted", "partly", "not yet measured"
SENSITIVE_TO = {RUN_DELETED.code: "deletion", PAYLOAD_NOT_RECORDED.code: "payload recording"}
"""Causes a verdict is tested against: recomputed with their units counted right, does the verdict change?"""
_TESTED: tuple[Cause, ...] = (RUN_DELETED, PAYLOAD_NOT_RECORDED)


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    verdict: str
    evidence: str
    cited: tuple[str, ...]
    """Cell ids (`question_id/source`) the verdict was computed from."""
    depends_on: tuple[str, ...] = ()
    """Cause codes whose units, counted right, change the verdict (see SENSITIVE_TO)."""

    @property
    def dependence(self) -> str:
        """In words: what the verdict rests on besides what the sources record."""
        if not self.depends_on:
            return "the verdict depends on neither deletion nor payload recording"
        return "the verdict depends on " + " and on ".join(SENSITIVE_TO[code] for code in self.depends_on)


def _score(cell: Cell) -> float:
    """A cell as one number: answers 1, partial its fraction, cannot 0."""
    return 1.0 if cell.verdict == ANSWERS else cell.fraction if cell.verdict == PARTIAL else 0.0


def _label(cell: Cell) -> str:
    label = f"partial {cell.fraction:.0%}" if cell.verdict == PARTIAL else cell.verdict
    return f"{cell.id} {label}"


class _Cells:
    def __init__(self, cells: Sequence[Cell]) -> None:
        self.by_id = {c.id: c for c in cells}
        self.cited: list[str] = []

    def get(self, question_id: str, source: str) -> Cell | None:
        cell = self.by_id.get(f"{question_id}/{source}")
        if cell is not None and cell.id not in self.cited:
            self.cited.append(cell.id)
        return cell


_OPEN_STATE_QUESTIONS = ("open_status", "open_step", "payment_wait")
"""Asked of every source as of moments while orders ran: what "read its state from the workflow" means."""


def _clearly_below(cell: Cell, other: Cell) -> bool:
    """`cell` is right less often than `other` by more than chance: their Wilson 95% intervals do not overlap. A
    cell judging no unit (a `cannot` by construction) has no chance in it: its score decides."""
    if not (cell.n and other.n):
        return _score(cell) < _score(other)
    return cell.interval[1] < other.interval[0]


def _open_state(cells: _Cells) -> tuple[str, str]:
    """Temporal asked in place against the best other source on each open-state question. The units are moments the
    observer happened to ask at, so each comparison is read with its chance: a source is better or worse only where
    the two cells' 95% intervals do not overlap; otherwise the two are level. Supported: better somewhere, worse
    nowhere; contradicted: worse on every question; partly: anything between (level everywhere included)."""
    in_place = {q: cells.get(q, "temporal") for q in _OPEN_STATE_QUESTIONS}
    measured = {q: c for q, c in in_place.items() if c is not None and c.measured and c.reason != NO_DATA}
    if not measured:
        return NOT_MEASURED, "Temporal was not asked in place while orders ran (observer off or no open order seen)"
    better, level, worse, parts = [], [], [], []
    for question_id, cell in measured.items():
        others = [c for source in ("history", "traces", "logs", "app_db", "history_traces")
                  if (c := cells.get(question_id, source)) is not None and c.measured]
        best = max(others, key=_score, default=None)
        if best is not None and _clearly_below(cell, best):
            worse.append(question_id)
            standing = "worse"
        elif others and all(_clearly_below(other, cell) for other in others):
            better.append(question_id)
            standing = "better"
        else:
            level.append(question_id)
            standing = "level"
        parts.append(f"{_label(cell)}" + (f" (best other: {_label(best)}; {standing})" if best is not None else ""))
    signals = cells.get("signals_updates", "history")
    evidence = ("asked in place while the orders ran (the status query, Describe's pending activities) and judged "
                "against the workers' own ledger at the same moments; better or worse where the 95% intervals do "
                "not overlap, level where they do: " + "; ".join(parts)
                + ". In place, Temporal's view trails each activity's end by the workflow task that records it "
                "(a moment in between reads the previous status), and a deleted run answers 'not found'")
    if signals is not None:
        evidence += f"; a rejected update never reaches history ({_label(signals)})"
    if better and not worse:
        return SUPPORTED, evidence
    if worse and not better and not level:
        return CONTRADICTED, evidence
    return PARTLY, evidence


def _no_aggregation(cells: _Cells) -> tuple[str, str]:
    questions = ("closed_in_period", "orders_by_status", "revenue_by_day")
    triples = [(cells.get(q, "temporal"), cells.get(q, "history"), cells.get(q, "app_db")) for q in questions]
    if any(h is None or a is None for _, h, a in triples) or any(h.reason == NO_DATA for _, h, _ in triples):
        return NOT_MEASURED, "no history was collected"
    in_place = [(t, a) for t, _, a in triples if t is not None and t.reason != NO_DATA]
    judged = in_place if len(in_place) == len(triples) else [(h, a) for _, h, a in triples]
    short = [t for t, a in judged if _score(t) < _score(a)]
    evidence = "; ".join(f"{_label(t)} and {_label(h)} vs {_label(a)}" if t is not None else f"{_label(h)} vs "
                         f"{_label(a)}" for t, h, a in triples)
    evidence += (". Temporal in place: Visibility lists runs by close time and counts them by a search attribute "
                 "(OrderStatus) while they are retained, but adds up nothing (no sum of OrderTotal), and a deleted "
                 "(expired) run is gone; the exported history answers the sum only by scanning every history's "
                 "payloads, which is a history database, not Temporal")
    if len(short) == len(judged):
        return SUPPORTED, evidence
    return (PARTLY if short else CONTRADICTED), evidence


def _customer_data(cells: _Cells) -> tuple[str, str]:
    card, address = cells.get("card_number", "history"), cells.get("customer_address", "history")
    app_card, logs_card = cells.get("card_number", "app_db"), cells.get("card_number", "logs")
    in_place = [c for c in (cells.get("card_number", "temporal"), cells.get("customer_address", "temporal")) if c]
    if card is None or address is None:
        return NOT_MEASURED, "the customer data questions were not scored"
    if "not yet measured" in card.reason or card.reason == NO_DATA:
        return NOT_MEASURED, f"no sentinel customer data to look for ({card.reason})"
    others = ", ".join(_label(c) for c in (app_card, logs_card) if c is not None)
    if card.verdict == CANNOT and address.verdict == CANNOT:
        return PARTLY, (f"history did not give back the sentinel data ({_label(card)}, {_label(address)}): "
                        "payloads were unreadable (encrypted by a codec), which is what makes Temporal a fit place "
                        f"for it; elsewhere: {others}")
    shown = f"; in place, the Web UI shows them too ({', '.join(_label(c) for c in in_place)})" if in_place else ""
    return SUPPORTED, (f"history holds the sentinel card number and address in the clear ({_label(card)}, "
                       f"{_label(address)}{shown}) for anyone who can read the namespace, and loses them with the run "
                       f"when retention (or deletion) removes it; the services' own stores keep less: {others}")


def _history_is_enough(cells: _Cells) -> tuple[str, str]:
    categories: dict[str, list[str]] = {}
    for q in CATALOGUE:
        if q.kind != PER_ORDER_MEASURE:  # a measurement (bytes) is not an answer
            categories.setdefault(q.category, []).append(q.id)
    outcome: dict[str, bool] = {}
    for category, question_ids in categories.items():
        enough = True
        measured = False
        for question_id in question_ids:
            history = cells.get(question_id, "history")
            others = [c for c in (cells.get(question_id, "traces"), cells.get(question_id, "logs")) if c]
            if history is None or history.reason == NO_DATA or not others:
                continue
            measured = True
            if _score(history) < max(_score(c) for c in others):
                enough = False
        if measured:
            outcome[category] = enough
    if not outcome:
        return NOT_MEASURED, "no history was collected"
    evidence = "; ".join(f"{category}: {'history alone suffices' if ok else 'logs or traces add answers'}"
                         for category, ok in outcome.items())
    if all(outcome.values()):
        return SUPPORTED, evidence
    return (CONTRADICTED if not any(outcome.values()) else PARTLY), evidence


def _fault_tolerance(cells: _Cells) -> tuple[str, str]:
    crash = {source: cells.get("crash_recovery", source)
             for source in ("temporal", "history", "traces", "logs", "app_db")}
    scored = {s: c for s, c in crash.items() if c is not None}
    history = scored.get("history")
    if history is None or history.reason == NO_DATA:
        return NOT_MEASURED, "history was not collected"
    if not any(c.measured for c in scored.values()):
        return NOT_MEASURED, "this run killed no worker: the ground truth has no crash to compare with"
    shows = [s for s, c in scored.items() if c.verdict == ANSWERS]
    evidence = ", ".join(_label(c) for c in scored.values())
    evidence += (f". Sources that show the lost attempt and the recovery: {', '.join(shows) or 'none'}; history "
                 "records the lost attempt as a timeout (it cannot tell a crash from a hang), and a process killed "
                 "mid-attempt never exports that attempt's span")
    if history.verdict == ANSWERS:
        return SUPPORTED, evidence
    return (PARTLY if history.verdict == PARTIAL else CONTRADICTED), evidence


_CLAIMS: tuple[tuple[str, str, Callable[[_Cells], tuple[str, str]]], ...] = (
    ("open_state", "While an order is open, its state is best read from the workflow itself.", _open_state),
    ("no_aggregation", "Temporal cannot list or aggregate across workflows the way a database can (e.g. orders "
                       "closed last year, revenue per day).", _no_aggregation),
    ("customer_data", "Temporal is not the place for customer data such as addresses or payment details.",
     _customer_data),
    ("history_is_enough", "History records state changes so completely that logs and traces add nothing "
                          "(judged per question category).", _history_is_enough),
    ("fault_tolerance", "Fault tolerance: history shows a worker crash and the recovery from it.", _fault_tolerance),
)


def judge_claims(cells: Sequence[Cell]) -> list[Claim]:
    """Each claim of the premise with its verdict, its evidence in words, the cells it cites, and the causes its
    verdict depends on (judged again with that cause's units counted right: a changed verdict depends on it)."""
    claims = []
    for claim_id, statement, judge in _CLAIMS:
        cited = _Cells(cells)
        verdict, evidence = judge(cited)
        depends_on = tuple(cause.code for cause in _TESTED
                           if judge(_Cells([c.counting_right(cause) for c in cells]))[0] != verdict)
        claims.append(Claim(claim_id, statement, verdict, evidence, tuple(cited.cited), depends_on))
    return claims
