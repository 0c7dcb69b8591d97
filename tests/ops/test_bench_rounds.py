"""Bench rounds (issue 11): the scales alternate (ABBA) and a scale's percentiles pool its rounds."""

from __future__ import annotations

from bench import run


def test_rounds_alternate_between_the_scales():
    assert run.round_order([1, 0.01], 1) == [1, 0.01]
    assert run.round_order([1, 0.01], 2) == [1, 0.01, 0.01, 1]
    assert run.round_order([1, 0.01], 4) == [1, 0.01, 0.01, 1, 1, 0.01, 0.01, 1]


def _round(times: dict[int, int], failures: int = 0, message: str | None = None) -> dict:
    return {"histograms": [{"name": "tutor agenda", "count": sum(times.values()), "failures": failures,
                            "times": {str(ms): n for ms, n in times.items()}}],
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
    empty = {"histograms": [{"name": "monitoring CSV export", "count": 0, "failures": 0, "times": {}}],
             "failure_messages": []}
    assert run.pooled([empty])["routes"] == {}


def test_the_runner_does_not_import_locust_and_reads_percentiles_as_locust_does():
    """Importing locust patches the process with gevent (it hung a pytest-xdist worker that imported the
    runner): the runner has its own copy of locust's percentile rule, checked here against locust's, in a
    child process."""
    import subprocess
    import sys
    from pathlib import Path

    script = """
import sys
sys.path.insert(0, ".")
from bench import run
run.pooled([])
assert "locust" not in sys.modules and "gevent" not in sys.modules, "the runner imported locust"
import random
from locust.stats import calculate_response_time_percentile as theirs
rng = random.Random(7)
for _ in range(200):
    times = {rng.choice((3, 7, 10, 20, 45, 90, 120, 300, 2000)): rng.randint(1, 50) for _ in range(rng.randint(1, 8))}
    count = sum(times.values())
    for fraction in (0.5, 0.95, 0.99):
        assert run.percentile(times, count, fraction) == theirs(times, count, fraction), (times, fraction)
print("same")
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stderr[-2000:]
