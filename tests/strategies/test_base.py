"""Pool validation and the QueryStrategy base class."""

from typing import Any, ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.errors import LabelloopError
from labelloop.strategies import (
    InvalidParameterError,
    MissingPoolFieldError,
    Pool,
    PoolShapeError,
    QueryStrategy,
)
from labelloop.strategies.base import BlockScoreStrategy

N = 6
MASK = np.array([True, False, False, True, False, False])
PROBS = np.full((N, 3), 1 / 3)


def test_valid_full_pool_keeps_arrays_without_copying() -> None:
    samples = np.full((4, N, 3), 1 / 3, dtype=np.float32)
    embeddings = np.zeros((N, 8))
    pool = Pool(labeled=MASK, probs=PROBS, samples=samples, embeddings=embeddings)
    assert pool.labeled is MASK
    assert pool.probs is PROBS
    assert pool.samples is samples
    assert pool.embeddings is embeddings


def test_errors_are_value_errors_and_labelloop_errors() -> None:
    with pytest.raises(ValueError) as info:
        Pool(labeled=MASK, probs=PROBS[:-1])
    assert isinstance(info.value, PoolShapeError)
    assert isinstance(info.value, LabelloopError)


@pytest.mark.parametrize(
    "labeled",
    [MASK.tolist(), MASK.astype(np.int64), MASK[None], np.bool_(True)],
    ids=["list", "integer", "2-D", "scalar"],
)
def test_labeled_must_be_1d_bool_array(labeled: Any) -> None:
    with pytest.raises(PoolShapeError, match=r"np\.asarray\(mask, dtype=bool\)"):
        Pool(labeled=labeled)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"probs": PROBS[:-1]}, r"axis 0 must have length 6"),
        ({"probs": PROBS[:, 0]}, r"2-D floating-point array of shape \(n, n_classes\)"),
        ({"probs": PROBS.tolist()}, r"got object of type list"),
        ({"probs": (PROBS * 3).astype(np.int64)}, r"dtype int64"),
        ({"probs": PROBS[:, :1]}, r"at least 2 classes"),
        ({"probs": PROBS * 4}, r"not raw logits"),
        ({"probs": np.where(MASK[:, None], np.nan, PROBS)}, r"no NaN"),
        ({"probs": PROBS - 0.5}, r"\[0, 1\]"),
        ({"samples": np.full((2, N + 1, 3), 0.5)}, r"axis 1 must have length 6"),
        ({"samples": PROBS}, r"3-D"),
        ({"probs": PROBS, "samples": np.full((2, N, 4), 0.25)}, r"n_classes of probs"),
        ({"samples": np.full((2, N, 3), 2.0)}, r"Pool\.samples must hold probabilities"),
        ({"embeddings": np.zeros((N - 1, 2))}, r"axis 0 must have length 6"),
        ({"embeddings": np.zeros(N)}, r"\(n, d\)"),
        ({"embeddings": np.where(MASK[:, None], np.inf, 0.0) + np.zeros((N, 2))}, r"NaN or inf"),
    ],
)
def test_bad_arrays_are_refused_with_a_clear_message(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PoolShapeError, match=message):
        Pool(labeled=MASK, **fields)


def test_probabilities_off_by_rounding_are_accepted() -> None:
    probs = np.array([[1.0 + 1e-7, -1e-7]] * N, dtype=np.float32)
    assert Pool(labeled=MASK, probs=probs).probs is probs


def test_empty_pool_is_valid() -> None:
    pool = Pool(labeled=np.zeros(0, dtype=bool), probs=np.zeros((0, 3)))
    assert pool.labeled.shape == (0,)


class _Fixed(QueryStrategy):
    """Returns the first k unlabeled items, for testing the base class."""

    name = "fixed"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})

    def __init__(self, offset: int = 0, *, tag: str = "x") -> None:
        self.offset = offset
        self.tag = tag

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        return np.flatnonzero(~pool.labeled)[:k].astype(np.int64)


def test_get_params_and_repr_read_constructor_arguments() -> None:
    strategy = _Fixed(3, tag="y")
    assert strategy.get_params() == {"offset": 3, "tag": "y"}
    assert repr(strategy) == "_Fixed(offset=3, tag='y')"


def test_select_checks_arguments_before_subclass_runs() -> None:
    pool = Pool(labeled=MASK, embeddings=np.zeros((N, 2)))
    assert _Fixed().select(pool, 10).tolist() == [1, 2, 4, 5]
    with pytest.raises(MissingPoolFieldError, match=r"pool\.embeddings.*shape \(n, d\)"):
        _Fixed().select(Pool(labeled=MASK, probs=PROBS), 2)


@pytest.mark.parametrize("batch_size", [True, 2.0, "3", None])
def test_batch_size_must_be_an_integer(batch_size: Any) -> None:
    pool = Pool(labeled=MASK, embeddings=np.zeros((N, 2)))
    with pytest.raises(InvalidParameterError, match="batch_size=100"):
        _Fixed().select(pool, batch_size)


def test_numpy_integer_batch_size_is_accepted() -> None:
    pool = Pool(labeled=MASK, embeddings=np.zeros((N, 2)))
    assert _Fixed().select(pool, np.int64(2)).tolist() == [1, 2]  # type: ignore[arg-type]


def test_subclass_requiring_an_unknown_field_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"\['logits'\].*not Pool fields"):

        class _Typo(QueryStrategy):
            name = "typo"
            requires: ClassVar[frozenset[str]] = frozenset({"logits", "probs"})

            def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
                return np.arange(k)


class _SampleSum(BlockScoreStrategy):
    """Scores each item by the sum of its samples' first class, in blocks of one item."""

    name = "sample_sum"
    requires: ClassVar[frozenset[str]] = frozenset({"samples"})
    item_axis = 1
    block_bytes = 1

    def _check_shape(self, array: NDArray[Any]) -> None:
        if array.ndim != 3:
            raise PoolShapeError("samples must be 3-D")

    def _score_block(self, block: NDArray[np.floating[Any]], out: NDArray[np.float64]) -> None:
        assert block.shape[1] == out.shape[0] == 1  # one item per block
        out[...] = block[:, :, 0].sum(axis=0)


def test_block_scores_cut_the_item_axis_and_pick_the_top_unlabeled() -> None:
    samples = np.zeros((2, N, 3), dtype=np.float16)  # converted to float64
    samples[:, :, 0] = np.arange(N) / 10
    strategy = _SampleSum()
    np.testing.assert_allclose(strategy.score(samples), 2 * np.arange(N) / 10, rtol=1e-3)
    picks, scores = strategy.select_scored(Pool(labeled=MASK, samples=samples), 3)
    assert picks.tolist() == [5, 4, 2]
    assert scores is None  # scored is False
    with pytest.raises(PoolShapeError, match="3-D"):
        strategy.score(np.zeros((N, 3)))
