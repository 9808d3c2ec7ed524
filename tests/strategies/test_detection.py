"""Detection strategies on hand-made detections whose scores are computed by hand."""

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
    UnknownStrategyError,
)
from labelloop.strategies.detection import (
    DETECTION_STRATEGY_NAMES,
    DetectionPool,
    aggregate,
    box_uncertainty,
    image_confidence,
    image_instability,
    image_uncertainty,
    least_certain_box,
    make_detection_strategy,
)


def probs(*rows: tuple[float, float]) -> NDArray[np.float64]:
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def vector(*values: float) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


# Two classes, so a box's margin uncertainty is 1 - |p0 - p1|.
# image 0: a sure-ish box (margin 0.5) and a near-noise box (score 0.05) that min_score drops
# image 1: two boxes, margins 0.2 and 0.4
# image 2: no boxes
POOL = DetectionPool(
    class_probs=[probs((0.75, 0.25), (0.6, 0.4)), probs((0.9, 0.1), (0.8, 0.2)), probs()],
    scores=[vector(0.9, 0.05), vector(0.9, 0.8), vector()],
    stability=[vector(0.5, 0.0), vector(0.9, 0.7), vector()],
)


def test_box_uncertainty_by_hand() -> None:
    rows = np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(box_uncertainty(rows, "margin"), [0.5, 0.0, 1.0])
    np.testing.assert_allclose(box_uncertainty(rows, "least_confidence"), [0.3, 0.0, 2 / 3])
    entropy = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)) / math.log(3)
    np.testing.assert_allclose(box_uncertainty(rows, "entropy"), [entropy, 0.0, 1.0], atol=1e-12)
    assert box_uncertainty(np.zeros((0, 3)), "entropy").shape == (0,)
    np.testing.assert_array_equal(box_uncertainty(np.ones((2, 1)), "entropy"), [0.0, 0.0])


def test_aggregate_by_hand() -> None:
    scores = vector(0.5, 0.25)
    assert aggregate(scores, "sum", empty=-1.0) == 0.75
    assert aggregate(scores, "mean", empty=-1.0) == 0.375
    assert aggregate(scores, "max", empty=-1.0) == 0.5
    assert aggregate(vector(), "sum", empty=-1.0) == -1.0


@pytest.mark.parametrize(
    ("how", "expected"),
    [("sum", [0.5, 0.2 + 0.4]), ("mean", [0.5, 0.3]), ("max", [0.5, 0.4])],
)
def test_image_uncertainty_counts_only_confident_boxes(how: str, expected: list[float]) -> None:
    scores = image_uncertainty(POOL, "margin", how, min_score=0.1, empty_policy="zero")  # type: ignore[arg-type]
    np.testing.assert_allclose(scores, [*expected, 0.0])


def test_without_scores_every_box_counts() -> None:
    pool = DetectionPool(class_probs=POOL.class_probs)
    scores = image_uncertainty(pool, "margin", "sum", empty_policy="zero")
    np.testing.assert_allclose(scores, [0.5 + 0.8, 0.6, 0.0])


@pytest.mark.parametrize(("policy", "fill"), [("zero", 0.0), ("mean", 0.55), ("max", 0.6)])
def test_empty_policy_fills_images_without_detections(policy: str, fill: float) -> None:
    scores = image_uncertainty(POOL, "margin", "sum", empty_policy=policy)  # type: ignore[arg-type]
    np.testing.assert_allclose(scores, [0.5, 0.6, fill])


@pytest.mark.parametrize(("policy", "fill"), [("mean", 0.5), ("max", 0.5)])
def test_empty_fill_comes_from_unlabeled_images_only(policy: str, fill: float) -> None:
    # image 1 (sum 0.6) is labeled, so the fill is image 0's 0.5, not the mean 0.55 or max 0.6
    pool = DetectionPool(
        class_probs=POOL.class_probs, scores=POOL.scores, labeled=np.array([False, True, False])
    )
    scores = image_uncertainty(pool, "margin", "sum", empty_policy=policy)  # type: ignore[arg-type]
    np.testing.assert_allclose(scores, [0.5, 0.6, fill])


def test_nan_class_probs_are_rejected_not_taken_for_an_empty_image() -> None:
    with pytest.raises(PoolShapeError, match="NaN"):
        DetectionPool(class_probs=[probs((np.nan, np.nan)), probs((0.5, 0.5))])


def test_a_pool_of_only_empty_images_scores_zero() -> None:
    pool = DetectionPool(class_probs=[probs(), probs()])
    np.testing.assert_array_equal(image_uncertainty(pool, "entropy", "max"), [0.0, 0.0])


def test_instability_is_one_minus_stability_aggregated() -> None:
    np.testing.assert_allclose(
        image_instability(POOL, "sum", empty_policy="zero"), [0.5, 0.1 + 0.3, 0.0]
    )
    np.testing.assert_allclose(image_instability(POOL, "max", empty_policy="zero"), [0.5, 0.3, 0.0])


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("margin_sum", [1, 0, 2]),  # 0.6 > 0.5 > 0 (empty_policy zero)
        ("margin_mean", [0, 1, 2]),  # 0.5 > 0.3
        ("margin_max", [0, 1, 2]),  # 0.5 > 0.4
        ("instability_sum", [0, 1, 2]),  # 0.5 > 0.4
        ("instability_mean", [0, 1, 2]),  # 0.5 > 0.2
    ],
)
def test_ranking_of_a_hand_made_pool(name: str, order: list[int]) -> None:
    strategy = make_detection_strategy(name, empty_policy="zero")
    assert strategy.select(POOL, 3).tolist() == order


def test_empty_policy_max_puts_empty_images_at_the_top() -> None:
    strategy = make_detection_strategy("margin_mean", empty_policy="max")
    # image 0 (0.5) and the empty image 2 (the pool max, 0.5) tie; ties go to the lower index
    assert strategy.select(POOL, 3).tolist() == [0, 2, 1]


def test_labeled_images_are_never_selected() -> None:
    pool = DetectionPool(class_probs=POOL.class_probs, labeled=np.array([False, True, False]))
    for name in ("margin_sum", "random"):
        picked = make_detection_strategy(name, random_state=0).select(pool, 5)
        assert 1 not in picked.tolist()
        assert sorted(picked.tolist()) == [0, 2]


def test_random_is_reproducible_and_seed_dependent() -> None:
    pool = DetectionPool(class_probs=[probs()] * 50)
    strategy = make_detection_strategy("random", random_state=3)
    a = strategy.select(pool, 10)
    np.testing.assert_array_equal(a, strategy.select(pool, 10))
    assert a.tolist() != strategy.set_params(random_state=4).select(pool, 10).tolist()
    assert len(set(a.tolist())) == 10


def test_coreset_covers_the_embedding_space() -> None:
    line = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    labeled = np.array([True, False, False, False, False])
    pool = DetectionPool(class_probs=[probs()] * 5, embeddings=line, labeled=labeled)
    strategy = make_detection_strategy("coreset")
    assert strategy.select(pool, 2).tolist() == [4, 3]  # 10 is farthest from 0; then 3
    scores = strategy.score(pool)
    assert scores[0] == 0.0
    assert np.argsort(-scores, kind="stable")[:4].tolist() == [4, 3, 1, 2]


def test_diverse_skips_a_near_duplicate_image() -> None:
    # images 0 and 1 are the two most uncertain but look alike; 2 is different
    pool = DetectionPool(
        class_probs=[probs((0.5, 0.5)), probs((0.5, 0.5)), probs((0.7, 0.3)), probs((1.0, 0.0))],
        embeddings=np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [1.0, 1.0]]),
    )
    assert make_detection_strategy("entropy_sum").select(pool, 2).tolist() == [0, 1]
    assert make_detection_strategy("entropy_sum_diverse").select(pool, 2).tolist() == [0, 2]


def test_select_returns_intp_and_caps_at_the_pool() -> None:
    picked = make_detection_strategy("entropy_sum").select(POOL, 10)
    assert picked.dtype == np.intp
    assert sorted(picked.tolist()) == [0, 1, 2]


def test_registry_names_and_strategy_names_agree() -> None:
    required = {"random", "coreset", "entropy_sum_diverse"}
    required |= {
        f"{k}_{h}"
        for k in ("entropy", "margin", "least_confidence")
        for h in ("sum", "mean", "max")
    }
    required |= {f"instability_{h}" for h in ("sum", "mean", "max")}
    assert set(DETECTION_STRATEGY_NAMES) == required
    assert list(DETECTION_STRATEGY_NAMES) == sorted(DETECTION_STRATEGY_NAMES)
    for name in DETECTION_STRATEGY_NAMES:
        assert make_detection_strategy(name).name == name


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_every_strategy_scores_and_selects_a_full_pool(name: str) -> None:
    rng = np.random.default_rng(0)
    counts = [0, 3, 1, 2, 0, 4]
    pool = DetectionPool(
        class_probs=[rng.dirichlet(np.ones(3), size=m) for m in counts],
        scores=[rng.random(m) for m in counts],
        stability=[rng.random(m) for m in counts],
        embeddings=rng.normal(size=(len(counts), 4)),
        labeled=np.array([False, True, False, False, False, False]),
    )
    strategy = make_detection_strategy(name, random_state=0)
    scores = strategy.score(pool)
    assert scores.shape == (len(counts),) and np.isfinite(scores).all()
    picked = strategy.select(pool, 3)
    assert len(set(picked.tolist())) == 3 and 1 not in picked.tolist()
    # select_scored: select's choice and score's scores (of the picks) from one pass
    calls: list[DetectionPool] = []
    score_once = strategy._score

    def counted(pool: DetectionPool) -> Any:
        calls.append(pool)
        return score_once(pool)

    strategy._score = counted  # type: ignore[method-assign]
    both_picked, both_scores = strategy.select_scored(pool, 3)
    assert len(calls) == 1
    np.testing.assert_array_equal(both_picked, picked)
    if name == "random":  # random draws are no score to store
        assert both_scores is None
    else:
        np.testing.assert_array_equal(both_scores, scores[picked])
    assert both_picked.dtype == np.intp


def test_image_confidence_is_the_least_confident_object() -> None:
    assert image_confidence(vector(0.9, 0.4, 0.7)) == 0.4
    assert image_confidence(vector(0.9, 0.5), how="mean") == pytest.approx(0.7)
    assert image_confidence(vector()) == 0.0
    assert image_confidence(vector(), empty=1.0) == 1.0
    with pytest.raises(PoolShapeError, match=r"\[0, 1\]"):
        image_confidence(vector(1.5))


def test_least_certain_box_orders_review() -> None:
    assert least_certain_box(vector(0.8, 0.3)) == 0.3
    assert least_certain_box(vector()) == 1.0


def test_pool_shape_errors_name_the_fix() -> None:
    with pytest.raises(PoolShapeError, match=r"np.zeros\(\(0, n_classes\)\)"):
        DetectionPool(class_probs=[np.zeros(3)])
    with pytest.raises(PoolShapeError, match="same number of classes"):
        DetectionPool(class_probs=[np.zeros((1, 2)), np.zeros((1, 3))])
    with pytest.raises(PoolShapeError, match="one value per box"):
        DetectionPool(class_probs=[probs((0.5, 0.5))], scores=[vector(0.5, 0.5)])
    with pytest.raises(PoolShapeError, match="entries for 1 images"):
        DetectionPool(class_probs=[probs()], stability=[vector(), vector()])
    with pytest.raises(PoolShapeError, match=r"\[0, 1\]"):
        DetectionPool(class_probs=[probs((0.5, 0.5))], stability=[vector(np.nan)])
    with pytest.raises(PoolShapeError, match="embeddings"):
        DetectionPool(class_probs=[probs()], embeddings=np.zeros((2, 3)))
    with pytest.raises(PoolShapeError, match="labeled"):
        DetectionPool(class_probs=[probs()], labeled=np.array([1]))


def test_parameter_errors() -> None:
    with pytest.raises(InvalidParameterError, match="kind"):
        box_uncertainty(probs((0.5, 0.5)), "variance")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="how"):
        aggregate(vector(0.1), "median", empty=0.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="empty_policy"):
        make_detection_strategy("margin_sum", empty_policy="skip").score(POOL)
    with pytest.raises(InvalidParameterError, match="min_score"):
        make_detection_strategy("margin_sum", min_score=2.0).score(POOL)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        make_detection_strategy("margin_sum").select(POOL, 0)
    with pytest.raises(InvalidParameterError, match="does not take"):
        make_detection_strategy("margin_sum", kind="entropy")
    with pytest.raises(UnknownStrategyError, match="margin_sum"):
        make_detection_strategy("bald")
    with pytest.raises(MissingPoolFieldError, match="stability"):
        make_detection_strategy("instability_sum").select(DetectionPool(class_probs=[probs()]), 1)
    with pytest.raises(MissingPoolFieldError, match="embeddings"):
        make_detection_strategy("coreset").score(DetectionPool(class_probs=[probs()]))
