"""Bench rounds (issue 11): the scales alternate (ABBA) and a scale's percentiles pool its rounds."""

from __future__ import annotations

from bench import run


def test_rounds_alternate_between_the_scales():
    assert run.round_order([1, 0.01], 1) == [1, 0.01]
    assert run.round_order([1, 0.01], 2) == [1, 0.01, 0.01, 1]
    assert run.round_order([1, 0.01], 4) == [1, 0.01, 0.01, 1, 1, 0.01, 0.01, 1]


def _round(times: dict[int, int], failures: int = 0, message: str | None = None) -> dict:
    return {"histograms": {"tutor agenda": {"count": sum(times.values()), "failures": failures,
                                            "times": {str(ms): n for ms, n in times.items()}}},
            "failure_messages": [message] if message else []}


def test_a_scales_percentiles_come_from_its_rounds_added_together():
    # A quick round (90 × 10 ms, 10 × 20 ms) and a slow one (90 × 30 ms, 10 × 200 ms): pooled, half of
    # the 200 requests took 30 ms or less (p50 30, where the quick round alone says 10) and the 10 slowest
    # took 200 (p95 200, where the quick round alone says 20).
    pooled = run.pooled([_round({10: 90, 20: 10}), _round({30: 90, 200: 10}, failures=1, message="agenda: 500 ×1")])
    agenda = pooled["routes"]["tutor agenda"]
    assert agenda["count"] == 200 and agenda["failures"] == 1
    assert agenda["p95"] == 200.0
    assert agenda["p50"] == 30.0
    assert pooled["rounds"] == 2 and pooled["failure_messages"] == ["agenda: 500 ×1"]


def test_a_route_never_drawn_has_no_percentiles():
    empty = {"histograms": {"monitoring CSV export": {"count": 0, "failures": 0, "times": {}}},
             "failure_messages": []}
    assert run.pooled([empty])["routes"] == {}
