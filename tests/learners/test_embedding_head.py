"""The ``"mlp_dropout"`` head of embed mode: an MLP whose samples are Monte Carlo dropout."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.config import BackboneConfig
from labelloop.learners import InvalidParameterError, NotFittedError, make_learner
from labelloop.learners.dropout_head import DropoutMLPHead
from labelloop.learners.embedding import HEADS, EmbeddingClassifier
from labelloop.learners.errors import WeightsMismatchError

N_CLASSES = 3
DIM = 16


def _vectors(n: int, seed: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``n`` vectors ``(n, DIM, 1, 1)`` in three well-separated clusters, every class present."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % N_CLASSES
    centres = np.random.default_rng(99).normal(size=(N_CLASSES, DIM)) * 3
    X = centres[y] + rng.normal(size=(n, DIM))
    return X.astype(np.float32)[:, :, None, None], y


@pytest.fixture(scope="module")
def head() -> DropoutMLPHead:
    return DropoutMLPHead(n_classes=N_CLASSES, random_state=0).fit(*_vectors(90, seed=0))


def test_the_head_learns_a_separable_problem(head: DropoutMLPHead) -> None:
    X, y = _vectors(60, seed=1)
    assert (head.predict_proba(X).argmax(axis=1) == y).mean() >= 0.95


def test_samples_differ_per_pass_and_average_to_predict_proba(head: DropoutMLPHead) -> None:
    X, _ = _vectors(30, seed=2)
    samples = head.predict_samples(X, 200)
    assert samples.shape == (200, 30, N_CLASSES)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, atol=1e-6)
    assert np.abs(samples[0] - samples[1]).max() > 1e-3  # the masks differ
    assert np.abs(samples.mean(axis=0) - head.predict_proba(X)).max() < 0.05


def test_a_seed_reproduces_the_fit_and_the_samples(head: DropoutMLPHead) -> None:
    X, _ = _vectors(20, seed=3)
    again = DropoutMLPHead(n_classes=N_CLASSES, random_state=0).fit(*_vectors(90, seed=0))
    np.testing.assert_array_equal(again.predict_proba(X), head.predict_proba(X))
    np.testing.assert_array_equal(again.predict_samples(X, 5), head.predict_samples(X, 5))
    other = DropoutMLPHead(n_classes=N_CLASSES, random_state=1).fit(*_vectors(90, seed=0))
    assert not np.array_equal(other.predict_proba(X), head.predict_proba(X))


def test_the_head_checks_its_parameters_and_its_state() -> None:
    X, y = _vectors(6, seed=4)
    with pytest.raises(NotFittedError, match="fit"):
        DropoutMLPHead(n_classes=N_CLASSES).predict_samples(X, 2)
    with pytest.raises(InvalidParameterError, match=r"^hidden must be an integer >= 1; got 0\."):
        DropoutMLPHead(n_classes=N_CLASSES, hidden=0).fit(X, y)


def test_the_settings_and_the_factory_offer_the_head() -> None:
    assert "mlp_dropout" in HEADS
    assert BackboneConfig(mode="embed", head="mlp_dropout").head == "mlp_dropout"
    learner = make_learner(
        "resnet18", n_classes=N_CLASSES, input_shape=(1, 16, 16), mode="embed", head="mlp_dropout"
    )
    assert isinstance(learner, EmbeddingClassifier) and learner.head == "mlp_dropout"


def _embedder(head: str, cache: Path) -> EmbeddingClassifier:
    return EmbeddingClassifier(
        "resnet18", N_CLASSES, (1, 16, 16), weights="none", input_size=32, head=head,
        cache_root=cache, device="cpu",
    )  # fmt: skip


def _images(n: int, seed: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Noise images whose brightness says the class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % N_CLASSES
    X = rng.random((n, 1, 16, 16), dtype=np.float32) * 0.5 + y[:, None, None, None] * 0.25
    return X, y


def test_embed_mode_samples_by_mc_dropout_and_saves_and_loads(tmp_path: Path) -> None:
    X, y = _images(24, seed=5)
    learner = _embedder("mlp_dropout", tmp_path / "cache")
    assert learner.fit(X, y) is learner
    assert isinstance(learner.head_, DropoutMLPHead)
    probs = learner.predict_proba(X)
    samples = learner.predict_samples(X, 7)  # as many as asked: no committee to cap them
    assert samples.shape == (7, 24, N_CLASSES)
    learner.save(tmp_path / "head.pkl")
    restored = _embedder("mlp_dropout", tmp_path / "cache").load(tmp_path / "head.pkl")
    np.testing.assert_array_equal(restored.predict_proba(X), probs)
    np.testing.assert_array_equal(restored.predict_samples(X, 7), samples)
    shipped = pickle.loads(pickle.dumps(learner))  # as Ray ships a learner to its actors
    np.testing.assert_array_equal(shipped.predict_proba(X), probs)
    with pytest.raises(WeightsMismatchError, match="mlp_dropout"):
        _embedder("logreg", tmp_path / "cache").load(tmp_path / "head.pkl")
