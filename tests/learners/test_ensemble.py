import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from labelloop.learners import (
    DeepEnsemble,
    InvalidParameterError,
    Learner,
    ModelFileCorruptError,
    NotFittedError,
    SupportsSamples,
    TorchClassifier,
    WeightsMismatchError,
)

from .conftest import Digits

FAST: dict[str, Any] = {"epochs": 2, "min_epoch_samples": 64, "min_steps": 0, "device": "cpu"}


def _ensemble(members: int = 3, **params: Any) -> DeepEnsemble:
    base = TorchClassifier("cnn", 10, (1, 8, 8), **(FAST | {"random_state": 4} | params))
    return DeepEnsemble(base, members=members)


@pytest.fixture(scope="module")
def fitted(digits: Digits) -> DeepEnsemble:
    return _ensemble().fit(digits.X_train[:80], digits.y_train[:80])


def test_is_a_learner_with_samples() -> None:
    ensemble = _ensemble()
    learner: Learner = ensemble  # mypy checks the signatures
    sampler: SupportsSamples = ensemble
    assert isinstance(learner, Learner)
    assert isinstance(sampler, SupportsSamples)
    assert ensemble.n_classes == 10


def test_constructor_only_stores_params() -> None:
    base = TorchClassifier("cnn", 10, (1, 8, 8))
    ensemble = DeepEnsemble(base, members=0)
    assert ensemble.base is base
    assert ensemble.members == 0
    assert not hasattr(ensemble, "members_")


def test_members_are_seeded_apart(fitted: DeepEnsemble, digits: Digits) -> None:
    assert [m.random_state for m in fitted.members_] == [4, 5, 6]
    assert not hasattr(fitted.base, "network_")
    X = digits.X_test[:30]
    probs = [member.predict_proba(X) for member in fitted.members_]
    assert not np.allclose(probs[0], probs[1])
    assert not np.allclose(probs[1], probs[2])
    alone = TorchClassifier("cnn", 10, (1, 8, 8), **(FAST | {"random_state": 5}))
    alone.fit(digits.X_train[:80], digits.y_train[:80])
    np.testing.assert_array_equal(alone.predict_proba(X), probs[1])


def test_predict_proba_is_members_mean(fitted: DeepEnsemble, digits: Digits) -> None:
    X = digits.X_test[:30]
    mean = np.mean([member.predict_proba(X) for member in fitted.members_], axis=0)
    probs = fitted.predict_proba(X)
    np.testing.assert_allclose(probs, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_samples_are_members_probs(fitted: DeepEnsemble, digits: Digits) -> None:
    X = digits.X_test[:30]
    samples = fitted.predict_samples(X)
    assert samples.shape == (3, 30, 10)
    for sample, member in zip(samples, fitted.members_, strict=True):
        np.testing.assert_array_equal(sample, member.predict_proba(X))
    np.testing.assert_allclose(samples.mean(axis=0), fitted.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(fitted.predict_samples(X, n_samples=2), samples[:2])


def test_more_samples_than_members_gives_every_member(fitted: DeepEnsemble, digits: Digits) -> None:
    X = digits.X_test[:5]
    np.testing.assert_array_equal(
        fitted.predict_samples(X, n_samples=20), fitted.predict_samples(X)
    )
    with pytest.raises(InvalidParameterError, match="n_samples"):
        fitted.predict_samples(X, n_samples=0)


def test_embed_is_first_members(fitted: DeepEnsemble, digits: Digits) -> None:
    X = digits.X_test[:30]
    np.testing.assert_array_equal(fitted.embed(X), fitted.members_[0].embed(X))
    assert not np.allclose(fitted.embed(X), fitted.members_[1].embed(X))


def test_save_load_round_trip(fitted: DeepEnsemble, digits: Digits, tmp_path: Path) -> None:
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    restored = _ensemble().load(path)
    X = digits.X_test[:30]
    np.testing.assert_array_equal(restored.predict_samples(X), fitted.predict_samples(X))
    np.testing.assert_array_equal(restored.embed(X), fitted.embed(X))
    assert [m.random_state for m in restored.members_] == [4, 5, 6]


def test_load_rejects_other_member_count(fitted: DeepEnsemble, tmp_path: Path) -> None:
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    with pytest.raises(WeightsMismatchError, match="members=3"):
        _ensemble(members=2).load(path)


def test_load_rejects_a_single_classifier(fitted: DeepEnsemble, tmp_path: Path) -> None:
    path = tmp_path / "cnn.pt"
    fitted.members_[0].save(path)
    with pytest.raises(ModelFileCorruptError, match=re.escape(str(path))):
        _ensemble().load(path)


def test_load_rejects_other_architecture(fitted: DeepEnsemble, tmp_path: Path) -> None:
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    base = TorchClassifier("cnn", 7, (1, 8, 8), device="cpu")
    with pytest.raises(WeightsMismatchError, match="n_classes"):
        DeepEnsemble(base, members=3).load(path)


def test_warm_start_continues_each_member(digits: Digits) -> None:
    X, y, X_test = digits.X_train[:60], digits.y_train[:60], digits.X_test[:20]
    ensemble = _ensemble(members=2).fit(X, y)
    trained = ensemble.predict_samples(X_test)
    networks = [member.network_ for member in ensemble.members_]
    ensemble.base.epochs = 0
    ensemble.fit(X, y)
    assert [member.epochs for member in ensemble.members_] == [0, 0]
    assert [member.network_ for member in ensemble.members_] == networks
    np.testing.assert_array_equal(ensemble.predict_samples(X_test), trained)
    ensemble.base.warm_start = False
    reset = ensemble.fit(X, y).predict_samples(X_test)
    assert not np.allclose(reset, trained)


def test_growing_members_keeps_fitted_ones(digits: Digits) -> None:
    X, y, X_test = digits.X_train[:40], digits.y_train[:40], digits.X_test[:20]
    ensemble = _ensemble(members=1).fit(X, y)
    first = ensemble.members_[0]
    before = first.predict_proba(X_test)
    ensemble.members, ensemble.base.epochs = 2, 0
    ensemble.fit(X, y)
    assert ensemble.members_[0] is first
    np.testing.assert_array_equal(first.predict_proba(X_test), before)
    assert ensemble.members_[1].random_state == 5


def test_not_fitted_raises(tmp_path: Path) -> None:
    ensemble = _ensemble()
    X = np.zeros((1, 1, 8, 8), dtype=np.float32)
    for call in (
        lambda: ensemble.predict_proba(X),
        lambda: ensemble.predict_samples(X),
        lambda: ensemble.embed(X),
        lambda: ensemble.save(tmp_path / "e.pt"),
    ):
        with pytest.raises(NotFittedError, match="fit"):
            call()


@pytest.mark.parametrize(
    ("members", "random_state", "name"),
    [(0, 0, "members"), (2.5, 0, "members"), (2, -1, "random_state")],
)
def test_fit_rejects_bad_params(members: Any, random_state: Any, name: str, digits: Digits) -> None:
    ensemble = _ensemble(members=members, random_state=random_state)
    with pytest.raises(InvalidParameterError, match=name):
        ensemble.fit(digits.X_train[:4], digits.y_train[:4])


def test_fit_leaves_global_torch_state_alone(digits: Digits) -> None:
    rng_state = torch.get_rng_state()
    _ensemble(members=2, epochs=1).fit(digits.X_train[:20], digits.y_train[:20])
    assert torch.equal(torch.get_rng_state(), rng_state)
