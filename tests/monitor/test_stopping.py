"""Stopping rules: hand-computed kappa windows, plateau slopes, uncertainty, the decision."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from labelloop.monitor import projection as projection_module
from labelloop.monitor.stopping import (
    PoolUncertaintyBelow,
    RoundObservation,
    StabilizingPredictions,
    StoppingInputError,
    StopVerdict,
    ValidationPlateau,
    evaluate_stopping,
    prediction_agreement,
)

# Successive stop-set predictions with hand-computed kappas:
# P0 -> P1: agreement 3/4, chance 0.5*0.25 + 0.5*0.75 = 0.5, kappa 0.5.
P0 = np.array([0, 0, 1, 1])
P1 = np.array([0, 1, 1, 1])


def observe(preds: Sequence[np.ndarray | None]) -> list[RoundObservation]:
    return [
        RoundObservation(n_labeled=10 * (i + 1), stop_predictions=p) for i, p in enumerate(preds)
    ]


def test_kappa_by_hand_and_the_degenerate_single_class_case() -> None:
    assert prediction_agreement(P0, P1) == pytest.approx(0.5)
    # Both rounds predict one and the same class: kappa is 0/0; agreement is full.
    assert prediction_agreement(np.full(5, 2), np.full(5, 2)) == 1.0
    # Each predicts a single class, different ones: no agreement beyond chance.
    assert prediction_agreement(np.zeros(4, dtype=np.int64), np.ones(4, dtype=np.int64)) == 0.0
    with pytest.raises(StoppingInputError, match="same, non-empty stop set"):
        prediction_agreement(P0, P0[:3])


def test_stabilizing_predictions_window_mean() -> None:
    rounds = observe([P0, P1, P1, P1])  # kappas 0.5, 1.0, 1.0
    two = StabilizingPredictions(window=2, threshold=0.99).evaluate(rounds)
    # Windows of two pairs: (0.5 + 1) / 2 = 0.75 ending at round 2, then 1.0 at round 3.
    assert two.fired and two.value == 1.0 and two.first_fired_round == 3
    assert two.evidence["kappas"] == pytest.approx([0.5, 1.0, 1.0])
    assert two.evidence["rounds"] == [1, 2, 3]
    three = StabilizingPredictions(window=3, threshold=0.99).evaluate(rounds)
    assert not three.fired and three.value == pytest.approx(2.5 / 3)
    assert three.first_fired_round is None
    # Fired once and then a model changed its mind: not fired now, first firing kept.
    flip = StabilizingPredictions(window=1, threshold=0.99).evaluate(observe([P0, P1, P1, P0]))
    assert not flip.fired and flip.first_fired_round == 2


def test_stabilizing_predictions_single_class_rounds_and_gaps() -> None:
    same = np.full(6, 3)
    verdict = StabilizingPredictions(window=2).evaluate(observe([same, None, same, same]))
    # The round without predictions is skipped: pairs (0, 2) and (2, 3).
    assert verdict.fired and verdict.evidence["rounds"] == [2, 3] and verdict.value == 1.0


def test_stabilizing_predictions_with_too_few_rounds() -> None:
    verdict = StabilizingPredictions(window=3).evaluate(observe([P0, P1, P1]))
    assert not verdict.fired and verdict.value is None and verdict.first_fired_round is None
    assert "need 4 rounds" in verdict.evidence["reason"]


def plateau_rounds(acc: Sequence[float]) -> list[RoundObservation]:
    return [RoundObservation(n_labeled=20 * (i + 1), val_accuracy=a) for i, a in enumerate(acc)]


def test_plateau_fires_on_a_flat_tail() -> None:
    verdict = ValidationPlateau(window=3, min_gain_per_100=0.005).evaluate(
        plateau_rounds([0.5, 0.7, 0.8, 0.801, 0.8015])
    )
    # Last window (60, .8), (80, .801), (100, .8015): slope 0.0015 / 40 per label.
    assert verdict.fired and verdict.value == pytest.approx(100 * 0.0015 / 40)
    # Earlier windows: 0.75 and 0.2525 per 100 labels, both above the threshold.
    assert verdict.evidence["slopes_per_100"][:2] == pytest.approx([0.75, 0.2525])
    assert verdict.first_fired_round == 4


def test_plateau_does_not_fire_on_a_rising_curve() -> None:
    acc = [0.5 + 0.001 * 20 * (i + 1) for i in range(8)]  # 0.1 per 100 labels
    verdict = ValidationPlateau().evaluate(plateau_rounds(acc))
    assert not verdict.fired and verdict.value == pytest.approx(0.1)
    assert verdict.first_fired_round is None


def test_plateau_skips_rounds_without_validation_and_needs_a_window() -> None:
    rounds = plateau_rounds([0.5, 0.6])
    rounds.insert(1, RoundObservation(n_labeled=30))
    verdict = ValidationPlateau(window=3).evaluate(rounds)
    assert not verdict.fired and "need 3 rounds" in verdict.evidence["reason"]
    with pytest.raises(StoppingInputError, match=r"window must be an integer >= 2; got 1\."):
        ValidationPlateau(window=1).evaluate(rounds)


def test_pool_uncertainty_rule() -> None:
    def rounds(values: Sequence[float | None]) -> list[RoundObservation]:
        return [RoundObservation(n_labeled=i, pool_uncertainty=u) for i, u in enumerate(values)]

    dipped = PoolUncertaintyBelow(0.05).evaluate(rounds([0.3, 0.04, 0.08]))
    assert not dipped.fired and dipped.value == 0.08 and dipped.first_fired_round == 1
    low = PoolUncertaintyBelow(0.05).evaluate(rounds([0.3, None, 0.02]))
    assert low.fired and low.first_fired_round == 2 and low.evidence["rounds"] == [0, 2]
    assert not PoolUncertaintyBelow().evaluate(rounds([None])).fired
    in_range = r"threshold must be a finite number in \(0\.0, 1\.0\); got 1\.5\."
    with pytest.raises(ValueError, match=in_range):
        PoolUncertaintyBelow(1.5).evaluate(rounds([0.1]))


class Fixed:
    """A rule whose verdict is set by the test."""

    def __init__(self, name: str, fired: bool) -> None:
        self.name = name
        self.fired = fired

    def evaluate(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        return StopVerdict(self.name, self.fired, 1.0, 0.5, {"first_fired_round": None})


@pytest.mark.parametrize(
    ("fired", "decision"),
    [
        ({"stabilizing_predictions"}, "diminishing"),
        ({"validation_plateau"}, "continue"),
        ({"pool_uncertainty_below"}, "continue"),
        ({"validation_plateau", "pool_uncertainty_below"}, "diminishing"),
        (set(), "continue"),
    ],
)
def test_decision_logic(fired: set[str], decision: str) -> None:
    names = ("stabilizing_predictions", "validation_plateau", "pool_uncertainty_below")
    rules = [Fixed(n, n in fired) for n in names]
    report = evaluate_stopping([RoundObservation(10)], rules=rules, projection=False)
    assert report.decision == decision and set(report.fired) == fired
    assert report.summary.startswith(decision)


def test_report_on_a_converged_run() -> None:
    n = np.arange(20, 320, 20)
    acc = 0.95 - 2.0 * n**-0.6
    stable = np.arange(50) % 10
    rounds = [
        RoundObservation(int(k), float(a), stable, pool_uncertainty=0.2, predicted_change=0.0)
        for k, a in zip(n, acc, strict=True)
    ]
    report = evaluate_stopping(rounds)
    assert report.decision == "diminishing" and report.fired[0] == "stabilizing_predictions"
    assert [p.extra for p in report.projections] == [100, 1000]
    truth = 0.95 - 2.0 * 400**-0.6 - acc[-1]
    assert report.projections[0].gain == pytest.approx(truth, abs=1e-4)
    assert "stop-set kappa 1.000" in report.summary and "+100 labels" in report.summary
    blob = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert blob["decision"] == "diminishing" and len(blob["verdicts"]) == 3
    assert blob["verdicts"][0]["evidence"]["first_fired_round"] == 3
    assert blob["curve"]["a"] == pytest.approx(0.95, abs=1e-3)


def test_report_draws_the_curve_parameters_once(monkeypatch: pytest.MonkeyPatch) -> None:
    n = np.arange(20, 320, 20)
    rounds = [RoundObservation(int(k), float(0.95 - 2.0 * k**-0.6)) for k in n]
    calls = []
    real = projection_module._draw_in_bounds

    def counted(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(projection_module, "_draw_in_bounds", counted)
    report = evaluate_stopping(rounds)
    assert [p.extra for p in report.projections] == [100, 1000]
    assert len(calls) == 1


def test_too_few_rounds_report() -> None:
    for rounds in ([], [RoundObservation(20, 0.5, P0, 0.4)]):
        report = evaluate_stopping(rounds)
        assert report.decision == "continue" and report.fired == ()
        assert all(v.value is None for v in report.verdicts[:2])
        assert report.projections == () and report.curve is None
        assert "n/a" in report.summary
        json.dumps(report.to_dict(), allow_nan=False)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(StoppingInputError, match=r"window must be an integer >= 1; got 0\."):
        StabilizingPredictions(window=0).evaluate([])
    with pytest.raises(StoppingInputError, match="kappa"):
        StabilizingPredictions(threshold=1.5).evaluate([])
    with pytest.raises(StoppingInputError, match="class index"):
        RoundObservation(10, stop_predictions=np.array([0.2, 0.8]))
    with pytest.raises(StoppingInputError, match="0 or more"):
        RoundObservation(-1)


def test_a_plateau_on_a_few_validation_images_does_not_fire() -> None:
    """0.75 on 16 validation images three rounds running is not a plateau worth stopping on."""
    flat = [RoundObservation(n_labeled=n, val_accuracy=0.75, val_n=16) for n in (55, 65, 75)]
    verdict = ValidationPlateau(window=3).evaluate(flat)
    assert not verdict.fired and "validated on 16 images" in verdict.evidence["reason"]
    enough = [RoundObservation(n_labeled=n, val_accuracy=0.75, val_n=120) for n in (550, 650, 750)]
    assert ValidationPlateau(window=3).evaluate(enough).fired


@pytest.mark.parametrize(
    ("rule", "positional"),
    [
        (StabilizingPredictions, (2, 0.9)),
        (ValidationPlateau, (4, 0.01, 50)),
        (PoolUncertaintyBelow, (0.1,)),
    ],
)
def test_rules_take_their_fields_as_parameters_in_signature_order(
    rule: Callable[..., StabilizingPredictions | ValidationPlateau | PoolUncertaintyBelow],
    positional: tuple[float, ...],
) -> None:
    built = rule(*positional)
    fields = [f.name for f in dataclasses.fields(built) if f.init]
    assert [getattr(built, name) for name in fields] == list(positional)
    assert built.get_params() == dict(sorted(zip(fields, positional, strict=True)))
    assert vars(built) == built.get_params()
