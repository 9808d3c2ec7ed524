"""Data drift tests: planted shifts on the digits, exact small cases, the shared contract."""

import itertools
import json
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.data.demo import digits_arrays
from labelloop.monitor._kernel import gaussian_block, mmd2_all, permutation_weights, sq_distances
from labelloop.monitor.drift import (
    DRIFT_TEST_NAMES,
    DriftInputError,
    DriftNotFittedError,
    DriftResult,
    KSDriftTest,
    MMDDriftTest,
    correct_p_values,
    drift_weights,
    make_drift_test,
)

N_REF, N_BATCH, N_PLANTED = 400, 150, 30


def seeded(name: str, **params: Any) -> Any:
    """A drift test by name, seeded where the test takes a seed."""
    if name != "ks":
        params.setdefault("random_state", 0)
    return make_drift_test(name, **params)


@pytest.fixture(scope="module")
def digits() -> dict[str, NDArray[np.float64]]:
    """Digits pixels through a fixed random projection to 16 dims, in shuffled splits.

    ``inverted`` holds images with pixels ``1 - x``; ``mixed`` is a clean batch
    whose last N_PLANTED images are inverted.
    """
    X, _ = digits_arrays()
    pixels = X.reshape(len(X), -1).astype(np.float64)
    rng = np.random.default_rng(0)
    projection = rng.normal(size=(64, 16)) / 8.0
    order = rng.permutation(len(pixels))
    take = np.split(order, [N_REF, N_REF + N_BATCH, N_REF + 2 * N_BATCH, N_REF + 3 * N_BATCH])
    mixed = pixels[take[3]].copy()
    mixed[-N_PLANTED:] = 1.0 - mixed[-N_PLANTED:]
    return {
        "reference": pixels[take[0]] @ projection,
        "clean": pixels[take[1]] @ projection,
        "inverted": (1.0 - pixels[take[2]]) @ projection,
        "mixed": mixed @ projection,
    }


# The contract every drift test keeps.


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_fit_returns_self_and_result_fields(
    name: str, digits: dict[str, NDArray[np.float64]]
) -> None:
    test = seeded(name)
    assert test.fit(digits["reference"]) is test
    result = test.test(digits["clean"])
    assert result.method == name
    assert (result.n_reference, result.n_batch) == (N_REF, N_BATCH)
    assert result.scores.shape == (N_BATCH,)
    assert np.isfinite(result.scores).all()
    assert 0.0 < result.p_value <= 1.0
    assert result.drifted == (result.p_value <= result.alpha)
    assert not result.scores.flags.writeable


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_same_random_state_same_result(name: str, digits: dict[str, NDArray[np.float64]]) -> None:
    first = seeded(name).fit(digits["reference"]).test(digits["mixed"])
    again = seeded(name).fit(digits["reference"]).test(digits["mixed"])
    assert first.p_value == again.p_value
    np.testing.assert_array_equal(first.scores, again.scores)


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_clean_split_is_not_flagged(name: str, digits: dict[str, NDArray[np.float64]]) -> None:
    result = seeded(name).fit(digits["reference"]).test(digits["clean"])
    assert not result.drifted
    assert result.p_value > 0.05


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_inverted_images_are_flagged(name: str, digits: dict[str, NDArray[np.float64]]) -> None:
    result = seeded(name).fit(digits["reference"]).test(digits["inverted"])
    assert result.drifted
    assert result.p_value < 0.01


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_planted_images_are_most_shifted(name: str, digits: dict[str, NDArray[np.float64]]) -> None:
    result = seeded(name).fit(digits["reference"]).test(digits["mixed"])
    assert result.drifted
    planted = set(range(N_BATCH - N_PLANTED, N_BATCH))
    assert set(result.most_shifted(N_PLANTED).tolist()) == planted


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_test_before_fit_raises(name: str, digits: dict[str, NDArray[np.float64]]) -> None:
    with pytest.raises(DriftNotFittedError, match="fit"):
        seeded(name).test(digits["clean"])


BAD_ARRAYS = [
    pytest.param(np.zeros(10), "2-D", id="1d"),
    pytest.param(np.zeros((10, 2, 2)), "2-D", id="3d"),
    pytest.param(np.full((10, 4), np.nan), "NaN", id="nan"),
    pytest.param(np.full((10, 4), np.inf), "infinite", id="inf"),
    pytest.param(np.zeros((1, 4)), "at least", id="one-row"),
    pytest.param(np.array([["a"] * 4] * 10), "numbers", id="strings"),
]


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
@pytest.mark.parametrize(("bad", "message"), BAD_ARRAYS)
def test_bad_arrays_raise(name: str, bad: NDArray[Any], message: str) -> None:
    good = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(DriftInputError, match=message):
        seeded(name).fit(bad)
    with pytest.raises(DriftInputError, match=message):
        seeded(name).fit(good).test(bad)


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_batch_with_other_width_raises(name: str) -> None:
    rng = np.random.default_rng(0)
    test = seeded(name).fit(rng.normal(size=(20, 4)))
    with pytest.raises(DriftInputError, match="5 columns but the reference had 4"):
        test.test(rng.normal(size=(20, 5)))


@pytest.mark.parametrize("name", DRIFT_TEST_NAMES)
def test_bad_alpha_raises_at_fit(name: str) -> None:
    test = seeded(name, alpha=1.5)
    with pytest.raises(DriftInputError, match="alpha"):
        test.fit(np.zeros((20, 2)))


def test_make_drift_test_rejects_unknown_names_and_parameters() -> None:
    with pytest.raises(DriftInputError, match="classifier, ks, mmd"):
        make_drift_test("chi2")
    with pytest.raises(DriftInputError, match="bad parameters"):
        make_drift_test("ks", n_permutations=10)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("mmd", {"n_permutations": 0}, "n_permutations"),
        ("mmd", {"bandwidth": -1.0}, "bandwidth"),
        ("mmd", {"random_state": -3}, "random_state"),
        ("ks", {"correction": "holm"}, "correction"),
        ("classifier", {"n_folds": 1}, "n_folds"),
    ],
)
def test_bad_parameters_raise_at_fit(name: str, params: dict[str, Any], message: str) -> None:
    test = make_drift_test(name, **params)  # the constructor only stores them
    with pytest.raises(DriftInputError, match=message):
        test.fit(np.random.default_rng(0).normal(size=(20, 2)))


# MMD: the fast path against direct computation and exact enumeration.


def direct_mmd2(K: NDArray[np.float64], batch_rows: list[int]) -> float:
    """Biased MMD² of one split of a pooled kernel matrix, by averaging blocks."""
    b = np.array(batch_rows)
    r = np.setdiff1d(np.arange(K.shape[0]), b)
    return float(K[np.ix_(r, r)].mean() + K[np.ix_(b, b)].mean() - 2 * K[np.ix_(r, b)].mean())


TINY_REFERENCE = np.array([[0.0], [0.3], [1.1]])
TINY_BATCH = np.array([[1.0], [2.0]])


def tiny_kernel() -> NDArray[np.float64]:
    pooled = np.vstack([TINY_REFERENCE, TINY_BATCH])
    K = np.asarray(gaussian_block(sq_distances(pooled, pooled), 0.8), dtype=np.float64)
    return K


def test_mmd2_all_matches_every_split_of_a_tiny_sample() -> None:
    K = tiny_kernel()
    splits = [list(c) for c in itertools.combinations(range(5), 2)]
    W = np.full((len(splits), 5), 1 / 3)
    for row, batch_rows in zip(W, splits, strict=True):
        row[batch_rows] = -1 / 2
    fast = mmd2_all(K[:3, :3], K[:3, 3:], K[3:, 3:], W)
    np.testing.assert_allclose(fast, [direct_mmd2(K, s) for s in splits], rtol=1e-12)


def test_permutation_weights_are_true_split_then_random_relabellings() -> None:
    W = permutation_weights(3, 2, 2000, np.random.default_rng(0), np.float64)
    np.testing.assert_array_equal(W[0], [1 / 3, 1 / 3, 1 / 3, -1 / 2, -1 / 2])
    assert ((W == -1 / 2).sum(axis=1) == 2).all()
    assert ((W == 1 / 3).sum(axis=1) == 3).all()
    # Every pooled row takes the batch role in 2/5 of the relabellings.
    np.testing.assert_allclose((W[1:] < 0).mean(axis=0), 0.4, atol=0.04)


def test_mmd_p_value_matches_exact_enumeration() -> None:
    K = tiny_kernel()
    stats = [direct_mmd2(K, list(c)) for c in itertools.combinations(range(5), 2)]
    observed = direct_mmd2(K, [3, 4])
    exact = np.mean(np.array(stats) >= observed - 1e-12)
    assert 0.05 < exact < 0.5  # a case where a wrong permutation scheme shows

    test = MMDDriftTest(n_permutations=4000, bandwidth=0.8, random_state=0).fit(TINY_REFERENCE)
    result = test.test(TINY_BATCH)
    assert result.statistic == pytest.approx(observed, rel=1e-12)
    assert result.p_value == pytest.approx(exact, abs=0.025)


def test_mmd_p_value_counts_the_observed_split() -> None:
    # Every relabelling of identical rows ties with the observed split.
    test = MMDDriftTest(n_permutations=9, bandwidth=1.0, random_state=0).fit(np.ones((4, 2)))
    assert test.test(np.ones((3, 2))).p_value == 1.0


def test_mmd_median_bandwidth_and_witness(digits: dict[str, NDArray[np.float64]]) -> None:
    reference = digits["reference"]
    test = MMDDriftTest(random_state=0).fit(reference)
    distances = np.sqrt(sq_distances(reference, reference))[np.triu_indices(N_REF, k=1)]
    assert test.bandwidth_ == pytest.approx(float(np.median(distances)), rel=1e-9)

    batch = digits["mixed"]
    K_rb = gaussian_block(sq_distances(reference, batch), test.bandwidth_)
    K_bb = gaussian_block(sq_distances(batch, batch), test.bandwidth_)
    result = test.test(batch)
    np.testing.assert_allclose(result.scores, K_bb.mean(axis=0) - K_rb.mean(axis=0))
    assert result.info["bandwidth"] == test.bandwidth_


def test_mmd_keeps_its_own_copy_of_the_reference() -> None:
    reference = np.random.default_rng(0).normal(size=(30, 2))
    batch = reference[:10] + 3.0
    test = MMDDriftTest(n_permutations=20, bandwidth=1.0, random_state=0).fit(reference)
    before = test.test(batch)
    reference[:] = 3.0  # the caller reuses its buffer after fitting
    after = test.test(batch)
    assert after.statistic == before.statistic
    np.testing.assert_array_equal(after.scores, before.scores)


def test_mmd_identical_reference_needs_a_bandwidth() -> None:
    with pytest.raises(DriftInputError, match="bandwidth="):
        MMDDriftTest().fit(np.ones((10, 3)))


# KS: corrections and drifted dimensions.


def test_fdr_and_bonferroni_corrections_on_hand_made_p_values() -> None:
    p = np.array([0.03, 0.5, 0.01, 0.02])
    np.testing.assert_allclose(correct_p_values(p, "bonferroni"), [0.12, 1.0, 0.04, 0.08])
    np.testing.assert_allclose(correct_p_values(p, "fdr"), [0.04, 0.5, 0.04, 0.04])
    # The step-up: a larger p-value can lower the adjusted value of a smaller one.
    np.testing.assert_allclose(correct_p_values(np.array([0.02, 0.03]), "fdr"), [0.03, 0.03])


def test_ks_reports_planted_dimensions_and_fdr_finds_more() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(300, 8))
    batch = rng.normal(size=(100, 8))
    batch[:, 2] += 1.0
    batch[:, 5] += 1.0
    batch[:, 6] += 0.25  # weak: only the less strict correction may catch it
    fdr = KSDriftTest("fdr").fit(reference).test(batch)
    bonferroni = KSDriftTest("bonferroni").fit(reference).test(batch)
    assert {2, 5} <= set(fdr.info["drifted_dimensions"])  # type: ignore[arg-type]
    assert bonferroni.info["drifted_dimensions"] == [2, 5]
    assert fdr.p_value <= bonferroni.p_value
    z = np.abs(batch[:, [2, 5]] - reference[:, [2, 5]].mean(0)) / reference[:, [2, 5]].std(0)
    np.testing.assert_allclose(bonferroni.scores, z.sum(axis=1))


# The result object and selection weights.


def make_result(scores: list[float], drifted: bool = True) -> DriftResult:
    return DriftResult(
        method="mmd",
        statistic=0.1,
        p_value=0.01 if drifted else 0.5,
        alpha=0.05,
        drifted=drifted,
        n_reference=10,
        n_batch=len(scores),
        scores=np.array(scores),
    )


def test_most_shifted_orders_by_score_with_ties_to_lower_index() -> None:
    result = make_result([1.0, 3.0, 3.0, 0.0, 2.0])
    np.testing.assert_array_equal(result.most_shifted(3), [1, 2, 4])
    np.testing.assert_array_equal(result.most_shifted(99), [1, 2, 4, 0, 3])
    with pytest.raises(DriftInputError, match="k must be"):
        result.most_shifted(-1)


def test_to_dict_is_json_ready_with_the_top_k() -> None:
    summary = make_result([1.0, 3.0, 3.0, 0.0, 2.0]).to_dict(top_k=2)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["top_indices"] == [1, 2]
    assert summary["top_scores"] == [3.0, 3.0]
    assert "scores" not in summary


def test_drift_weights_scale_from_one_to_one_plus_strength() -> None:
    weights = drift_weights(make_result([1.0, 3.0, 2.0]), strength=2.0)
    np.testing.assert_allclose(weights, [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(drift_weights(make_result([1.0, 3.0], drifted=False)), [1, 1])
    np.testing.assert_array_equal(drift_weights(make_result([2.0, 2.0])), [1, 1])
    with pytest.raises(DriftInputError, match="strength"):
        drift_weights(make_result([1.0]), strength=-1.0)
