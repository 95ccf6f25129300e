"""The baseline gate against independent oracles: tolerance formula, one-sided verdicts, McNemar/binomial, Holm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, norm

from pytest_ssllottery.compute.records import CellRecord
from pytest_ssllottery.gate import judge as gate_module
from pytest_ssllottery.gate.judge import CellContext, cell_tolerance, judge_cell
from pytest_ssllottery.gate.judge_aggregate import AggregateCase, judge_aggregate
from pytest_ssllottery.stats import pack_bits
from pytest_ssllottery.suite.spec import GateSpec

ACCEPT = "pytest --ssl-suite demo --ssl-update-baselines -k 'm and val'"
SOURCE = "baselines/demo.json"


def record(correct: int, n: int, vector: np.ndarray | None = None, fingerprint: str = "fp") -> CellRecord:
    vector = np.arange(n) < correct if vector is None else vector
    return CellRecord("demo", "m", "val", int(correct), n, fingerprint, pack_bits(vector))


def baseline(correct: int, n: int, vector: np.ndarray | None = None, fingerprint: str = "fp") -> dict:
    entry = {"accuracy": round(100.0 * correct / n, 4), "correct": correct, "n": n, "dataset_fingerprint": fingerprint}
    if vector is not None:
        entry["per_sample"] = {"encoding": "packbits-little-base64", "bits": pack_bits(vector)}
    return entry


def context(entry: dict | None, gate: GateSpec, **extra) -> CellContext:
    return CellContext(entry, gate, ACCEPT, SOURCE, **extra)


def oracle_tolerance(percent: float, n: int, margin: float, factor: float) -> float:
    p = percent / 100.0
    return max(margin, factor * 100.0 * math.sqrt(p * (1.0 - p) / n))


def brute_force_holm(pvalues: list[float], alpha: float) -> list[bool]:
    """Holm step-down from its definition."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    rejected = [False] * m
    for position, index in enumerate(order):
        if pvalues[index] > alpha / (m - position):
            break
        rejected[index] = True
    return rejected


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0.0, 100.0),
    st.integers(1, 10**6),
    st.floats(0.0, 5.0),
    st.floats(0.0, 4.0),
)
def test_cell_tolerance_is_max_of_margin_and_scaled_standard_error(
    percent: float, n: int, margin: float, factor: float
) -> None:
    tol = cell_tolerance(percent, n, GateSpec(margin=margin, sampling_factor=factor))
    assert tol.value == pytest.approx(oracle_tolerance(percent, n, margin, factor), rel=1e-12, abs=1e-12)
    assert (tol.margin, tol.factor, tol.n) == (margin, factor, n)


def test_tolerance_explanation_shows_its_derivation() -> None:
    tol = cell_tolerance(50.0, 100, GateSpec(margin=1.0, sampling_factor=2.0))
    assert tol.value == pytest.approx(10.0)
    assert tol.explain() == "10.00 points = max(margin 1.00, 2 x standard error 5.00 at n=100)"


@settings(max_examples=120, deadline=None)
@given(
    st.integers(1, 3000),
    st.data(),
    st.floats(0.0, 3.0),
    st.floats(0.0, 3.0),
)
def test_absolute_mode_fails_iff_below_and_is_stale_iff_above_the_tolerance_band(
    n: int, data: st.DataObject, margin: float, factor: float
) -> None:
    base_correct = data.draw(st.integers(0, n))
    now_correct = data.draw(st.integers(0, n))
    expected = 100.0 * base_correct / n
    obtained = 100.0 * now_correct / n
    tol = oracle_tolerance(expected, n, margin, factor)
    assume(abs(obtained - (expected - tol)) > 1e-3 and abs(obtained - (expected + tol)) > 1e-3)
    gate = GateSpec(margin=margin, sampling_factor=factor, mode="absolute")

    verdict = judge_cell(record(now_correct, n), context(baseline(base_correct, n), gate))

    oracle = "fail" if obtained < expected - tol else "stale" if obtained > expected + tol else "pass"
    event(oracle)
    assert verdict.status == oracle
    assert verdict.failed == (oracle == "fail")
    assert verdict.expected == pytest.approx(expected, abs=1e-12)
    assert verdict.obtained == pytest.approx(obtained, abs=1e-12)
    assert verdict.tolerance == pytest.approx(tol, rel=1e-9)


def test_failure_text_shows_obtained_expected_tolerance_and_accept_command() -> None:
    gate = GateSpec(margin=1.0, sampling_factor=2.0)
    verdict = judge_cell(record(600, 1000), context(baseline(700, 1000), gate))
    assert verdict.status == "fail"
    se = 100 * math.sqrt(0.7 * 0.3 / 1000)
    text = verdict.message
    assert text.startswith("m::val regressed by 10.00 points")
    assert "obtained    60.00%  (600/1000 scored images)" in text
    assert f"expected    70.00%  ({SOURCE})" in text
    assert f"{2 * se:.2f} points = max(margin 1.00, 2 x standard error {se:.2f} at n=1000)" in text
    assert text.endswith(f"To accept the new value: {ACCEPT}")


def test_failure_text_counts_unreadable_images() -> None:
    skipped = CellRecord("demo", "m", "val", 50, 100, "fp", pack_bits(np.arange(100) < 50), skipped=3)
    verdict = judge_cell(skipped, context(baseline(90, 100), GateSpec()))
    assert "(50/100 scored images, 3 unreadable skipped)" in verdict.message


def test_missing_baseline_fails_with_the_accept_command() -> None:
    verdict = judge_cell(record(7, 10), context(None, GateSpec()))
    assert verdict.status == "missing"
    assert verdict.failed
    assert verdict.expected is None
    assert SOURCE in verdict.message
    assert "70.00%" in verdict.message
    assert verdict.message.endswith(f"To record it: {ACCEPT}")


@pytest.mark.parametrize("entry", [None, {"accuracy": 99.0, "correct": 99, "n": 100}])
def test_update_mode_never_compares(entry: dict | None) -> None:
    verdict = judge_cell(record(1, 100), context(entry, GateSpec()), update=True)
    assert verdict.status == "update"
    assert not verdict.failed


def test_stale_verdict_reports_the_improvement() -> None:
    verdict = judge_cell(record(900, 1000), context(baseline(700, 1000), GateSpec()))
    assert verdict.status == "stale"
    assert not verdict.failed
    assert "improved by 20.00 points" in verdict.message


def test_hand_edited_accuracy_that_disagrees_with_the_counts_wins() -> None:
    entry = {"accuracy": 80.0, "correct": 50, "n": 100}
    verdict = judge_cell(record(50, 100), context(entry, GateSpec(margin=1.0, sampling_factor=2.0)))
    assert verdict.expected == 80.0
    assert verdict.status == "fail"


def test_rounded_accuracy_that_agrees_with_the_counts_uses_the_exact_fraction() -> None:
    entry = {"accuracy": 33.3333, "correct": 1, "n": 3}
    verdict = judge_cell(record(1, 3), context(entry, GateSpec()))
    assert verdict.expected == 100.0 / 3
    assert verdict.status == "pass"


def mcnemar_less(now: np.ndarray, before: np.ndarray) -> float:
    b = int(np.sum(now & ~before))
    c = int(np.sum(~now & before))
    return 1.0 if b + c == 0 else binomtest(b, b + c, 0.5, alternative="less").pvalue


@st.composite
def significant_cases(draw: st.DrawFn):
    n = draw(st.integers(20, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    before = rng.random(n) < draw(st.floats(0.3, 0.95))
    flips = rng.random(n) < draw(st.floats(0.0, 0.3))
    bias = rng.random(n) < draw(st.floats(0.0, 1.0))
    now = np.where(flips, np.where(bias, False, ~before), before)
    family = draw(st.lists(st.one_of(st.floats(0.0, 0.05), st.floats(0.0, 1.0)), max_size=6))
    margin = draw(st.floats(0.0, 3.0))
    alpha = draw(st.sampled_from([0.01, 0.05, 0.1]))
    return n, before, now, family, margin, alpha


@settings(max_examples=100, deadline=None)
@given(significant_cases())
def test_significant_mode_fails_only_on_a_drop_beyond_margin_that_holm_rejects(case) -> None:
    n, before, now, family, margin, alpha = case
    expected = 100.0 * before.sum() / n
    obtained = 100.0 * now.sum() / n
    drop = expected - obtained
    tol = oracle_tolerance(expected, n, margin, 2.0)
    assume(abs(drop - margin) > 1e-3 and abs(obtained - expected - tol) > 1e-3)
    gate = GateSpec(margin=margin, sampling_factor=2.0, mode="significant", alpha=alpha)
    others = {f"other{i}::val": p for i, p in enumerate(family)}
    ctx = context(
        baseline(int(before.sum()), n, before),
        gate,
        family_size=len(family) + 1,
        family_pvalues=lambda: others,
    )

    verdict = judge_cell(record(int(now.sum()), n, now), ctx)

    pvalue = mcnemar_less(now, before)
    rejected = brute_force_holm([*family, pvalue], alpha)[-1]
    if obtained > expected + tol:
        oracle = "stale"
    elif drop > margin and rejected:
        oracle = "fail"
    else:
        oracle = "pass"
    event(oracle)
    assert verdict.status == oracle
    if oracle != "stale":
        assert verdict.pvalue == pytest.approx(pvalue, rel=1e-9, abs=1e-300)
        assert "McNemar exact" in verdict.message


@pytest.mark.parametrize(("other_pvalue", "status"), [(0.01, "fail"), (0.5, "pass")])
def test_significant_mode_asks_the_family_when_the_pvalue_alone_does_not_decide(
    monkeypatch: pytest.MonkeyPatch, other_pvalue: float, status: str
) -> None:
    # p = 0.03 lies between alpha / m = 0.025 and alpha = 0.05: Holm rejects it only after rejecting the other cell.
    monkeypatch.setattr(gate_module, "drop_pvalue", lambda record, baseline: (0.03, "stub test"))
    asked: list[int] = []

    def family() -> dict[str, float]:
        asked.append(1)
        return {"other::val": other_pvalue}

    gate = GateSpec(margin=1.0, mode="significant", alpha=0.05)
    ctx = context(baseline(90, 100), gate, family_size=2, family_pvalues=family)
    verdict = judge_cell(record(80, 100), ctx)
    assert asked == [1]
    assert verdict.status == status
    assert verdict.pvalue == 0.03


def test_significant_mode_decides_a_tiny_pvalue_without_asking_for_the_family() -> None:
    before = np.ones(400, dtype=bool)
    now = np.arange(400) >= 100
    gate = GateSpec(margin=1.0, mode="significant", alpha=0.05)
    ctx = context(baseline(400, 400, before), gate, family_size=50, family_pvalues=None)
    verdict = judge_cell(record(300, 400, now), ctx)
    assert verdict.status == "fail"
    assert "Holm over 50 cells at alpha 0.05" in verdict.message
    assert ACCEPT in verdict.message


def test_significant_mode_passes_a_small_drop_within_the_margin_however_significant() -> None:
    before = np.ones(100_000, dtype=bool)
    now = np.arange(100_000) >= 900
    gate = GateSpec(margin=1.0, sampling_factor=0.0, mode="significant")
    verdict = judge_cell(record(int(now.sum()), 100_000, now), context(baseline(100_000, 100_000, before), gate))
    assert verdict.pvalue is not None
    assert verdict.pvalue < 1e-100
    assert verdict.status == "pass"


@pytest.mark.parametrize(
    ("stored_fingerprint", "stored_n", "with_bits"),
    [("other", 200, True), ("fp", 200, False), ("fp", 199, True)],
    ids=["different-fingerprint", "no-per-sample-bits", "different-n"],
)
def test_significant_mode_falls_back_to_the_binomial_test(
    stored_fingerprint: str, stored_n: int, with_bits: bool
) -> None:
    now = np.arange(200) < 150
    before = np.arange(stored_n) < 170
    entry = baseline(170 if stored_n == 200 else 169, stored_n, before if with_bits else None, stored_fingerprint)
    gate = GateSpec(margin=0.5, mode="significant", alpha=0.05)
    verdict = judge_cell(record(150, 200, now), context(entry, gate, family_pvalues=dict))
    p0 = entry["accuracy"] / 100.0
    assert verdict.pvalue == pytest.approx(binomtest(150, 200, p0, alternative="less").pvalue, rel=1e-9)
    assert "binomial" in verdict.message
    assert verdict.status == "fail"


def test_significant_mode_uses_mcnemar_on_the_same_images() -> None:
    rng = np.random.default_rng(3)
    before = rng.random(300) < 0.8
    now = before.copy()
    now[np.flatnonzero(before)[:20]] = False
    now[np.flatnonzero(~before)[:5]] = True
    entry = baseline(int(before.sum()), 300, before)
    gate = GateSpec(margin=0.5, mode="significant", alpha=0.05)
    verdict = judge_cell(record(int(now.sum()), 300, now), context(entry, gate, family_pvalues=dict))
    assert verdict.pvalue == pytest.approx(binomtest(5, 25, 0.5, alternative="less").pvalue, rel=1e-9)
    assert "McNemar exact (b=5, c=20)" in verdict.message


def oracle_aggregate(obtained: float, se: float, expected: float, gate: GateSpec) -> str:
    tolerance = max(gate.margin, gate.sampling_factor * se)
    drop = expected - obtained
    if obtained > expected + tolerance:
        return "stale"
    if gate.mode == "significant":
        failed = drop > gate.margin and se > 0 and norm.sf(drop / se) <= gate.alpha
    else:
        failed = drop > tolerance
    return "fail" if failed else "pass"


@settings(max_examples=100, deadline=None)
@given(
    st.floats(1.0, 99.0),
    st.floats(1.0, 99.0),
    st.floats(0.0, 3.0),
    st.floats(0.0, 3.0),
    st.sampled_from(["absolute", "significant"]),
)
def test_judge_aggregate_compares_with_the_baseline_like_the_oracle(
    obtained: float, expected: float, se: float, margin: float, mode: str
) -> None:
    gate = GateSpec(margin=margin, sampling_factor=2.0, mode=mode, alpha=0.05)
    tolerance = max(margin, 2.0 * se)
    assume(abs(expected - obtained - tolerance) > 1e-3 and abs(obtained - expected - tolerance) > 1e-3)
    assume(abs(expected - obtained - margin) > 1e-3)
    if se > 0:
        assume(abs(norm.sf((expected - obtained) / se) - 0.05) > 1e-6)
    verdicts = judge_aggregate(
        AggregateCase("m::aggregate", "geometric_mean", obtained, se, {"geometric_mean": expected}, None, gate, ACCEPT)
    )
    assert [v.status for v in verdicts] == [oracle_aggregate(obtained, se, expected, gate)]
    assert verdicts[0].key == "m::aggregate:geometric_mean"
    assert verdicts[0].tolerance == pytest.approx(tolerance)


def test_aggregate_failure_text_has_the_numbers_and_the_accept_command() -> None:
    verdicts = judge_aggregate(
        AggregateCase(
            "m::aggregate", "weighted_average", 60.0, 0.5, {"weighted_average": 70.0}, None, GateSpec(), ACCEPT
        )
    )
    (verdict,) = verdicts
    assert verdict.status == "fail"
    assert "m::aggregate weighted average regressed by 10.00 points: 60.00% vs baseline 70.00%" in verdict.message
    assert "tolerance 1.00 = max(margin 1.00, 2 x standard error 0.50)" in verdict.message
    assert verdict.message.endswith(ACCEPT)


def test_aggregate_below_its_floor_gets_a_threshold_verdict_besides_the_baseline_one() -> None:
    verdicts = judge_aggregate(
        AggregateCase(
            "m::aggregate", "weighted_average", 45.0, 0.5, {"weighted_average": 45.2}, 50.0, GateSpec(), ACCEPT
        )
    )
    assert [v.status for v in verdicts] == ["threshold", "pass"]
    assert verdicts[0].failed
    assert "45.00% is below the suite's threshold 50.00%" in verdicts[0].message
    assert "gate.aggregate.weighted_average_min" in verdicts[0].message


def test_aggregate_at_or_above_its_floor_has_no_threshold_verdict() -> None:
    verdicts = judge_aggregate(
        AggregateCase("m::aggregate", "geometric_mean", 50.0, 0.5, {"geometric_mean": 50.0}, 50.0, GateSpec(), ACCEPT)
    )
    assert [v.status for v in verdicts] == ["pass"]


def test_aggregate_floor_still_applies_when_updating() -> None:
    verdicts = judge_aggregate(
        AggregateCase("m::aggregate", "geometric_mean", 10.0, 0.5, None, 20.0, GateSpec(), ACCEPT, update=True)
    )
    assert [v.status for v in verdicts] == ["threshold", "update"]


@pytest.mark.parametrize("entry", [None, {"weighted_average": 50.0}])
def test_aggregate_without_a_baseline_for_the_measure_is_missing(entry: dict | None) -> None:
    verdicts = judge_aggregate(
        AggregateCase("m::aggregate", "geometric_mean", 40.0, 0.5, entry, None, GateSpec(), ACCEPT)
    )
    assert [v.status for v in verdicts] == ["missing"]
    assert verdicts[0].message.endswith(ACCEPT)


@pytest.mark.parametrize(("upper", "fails"), [(-0.1, True), (0.3, False)])
def test_significant_aggregate_uses_the_paired_bootstrap_bound_when_given(upper: float, fails: bool) -> None:
    spec = GateSpec(margin=0.5, sampling_factor=2.0, mode="significant", alpha=0.05)
    # a 3-point drop with a huge analytic standard error: the z-test alone would never call it significant
    verdicts = judge_aggregate(
        AggregateCase(
            "m::aggregate",
            "weighted_average",
            70.0,
            50.0,
            {"weighted_average": 73.0},
            None,
            spec,
            "accept",
            paired_upper=upper,
        )
    )
    assert [v.status for v in verdicts] == ["fail" if fails else "pass"]
    if fails:
        assert "paired bootstrap upper bound -0.10 < 0" in verdicts[0].message
    without = judge_aggregate(
        AggregateCase("m::aggregate", "weighted_average", 70.0, 50.0, {"weighted_average": 73.0}, None, spec, "a")
    )
    assert [v.status for v in without] == ["pass"]


def test_verdict_carries_the_drop_the_absolute_gate_catches_80_percent_of_the_time() -> None:
    gate = GateSpec(margin=1.0, sampling_factor=2.0)
    verdict = judge_cell(record(700, 1000), context(baseline(700, 1000), gate))
    tolerance = oracle_tolerance(70.0, 1000, 1.0, 2.0)
    se = 100.0 * math.sqrt(0.7 * 0.3 / 1000)
    assert verdict.detectable_drop == pytest.approx(tolerance + norm.ppf(0.8) * se, abs=1e-5)


def test_significant_verdict_uses_the_paired_model_when_the_images_match() -> None:
    gate = GateSpec(margin=0.0, mode="significant", alpha=0.05)
    stored = np.arange(1000) < 700
    now = stored.copy()
    now[:20] = False  # 20 images flip right -> wrong, 20 wrong -> right: 4 % discordant, same accuracy
    now[700:720] = True
    paired = judge_cell(record(700, 1000, now), context(baseline(700, 1000, stored), gate))
    unpaired = judge_cell(record(700, 1000), context(baseline(700, 1000), gate))
    k = norm.ppf(0.95) + norm.ppf(0.8)
    a = k * k / 1000
    assert paired.detectable_drop == pytest.approx(100 * (a + math.sqrt(a * a + 4 * a * 0.04)) / 2, abs=1e-5)
    assert unpaired.detectable_drop is not None
    assert paired.detectable_drop is not None
    assert paired.detectable_drop < unpaired.detectable_drop
