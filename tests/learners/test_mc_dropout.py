from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from labelloop.learners import (
    InvalidParameterError,
    NotFittedError,
    SmallCNN,
    SupportsSamples,
    TorchClassifier,
    mc_dropout_logits,
)
from labelloop.learners.mc_dropout import features_reusable

from .conftest import Digits

FAST: dict[str, Any] = {"epochs": 2, "min_epoch_samples": 64, "min_steps": 0, "device": "cpu"}
CPU = torch.device("cpu")


def _cnn(**params: Any) -> TorchClassifier:
    return TorchClassifier("cnn", 10, (1, 8, 8), **(FAST | params))


@pytest.fixture(scope="module")
def fitted(digits: Digits) -> TorchClassifier:
    return _cnn(dropout=0.3).fit(digits.X_train[:100], digits.y_train[:100])


class _DropoutInFeatures(SmallCNN):
    """A SmallCNN whose features end in their own dropout layer."""

    def __init__(self) -> None:
        super().__init__(1, 10, dropout=0.3)
        self.inner = nn.Dropout(0.5)

    def features(self, x: Tensor) -> Tensor:
        out: Tensor = self.inner(super().features(x))
        return out


def test_is_supports_samples(fitted: TorchClassifier) -> None:
    sampler: SupportsSamples = fitted  # mypy checks the signature
    assert isinstance(sampler, SupportsSamples)


def test_samples_shape_and_rows(fitted: TorchClassifier, digits: Digits) -> None:
    samples = fitted.predict_samples(digits.X_test[:40], n_samples=7)
    assert samples.shape == (7, 40, 10)
    assert samples.dtype == np.float64
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    assert (samples >= 0).all()


def test_empty_input_gives_empty_samples(fitted: TorchClassifier) -> None:
    empty = np.zeros((0, 1, 8, 8), dtype=np.float32)
    assert fitted.predict_samples(empty, n_samples=3).shape == (3, 0, 10)


def test_samples_reproducible_and_seeded(fitted: TorchClassifier, digits: Digits) -> None:
    X = digits.X_test[:40]
    rng_state = torch.get_rng_state()
    first = fitted.predict_samples(X, n_samples=5)
    np.testing.assert_array_equal(fitted.predict_samples(X, n_samples=5), first)
    assert torch.equal(torch.get_rng_state(), rng_state)
    fitted.random_state = 1
    try:
        other = fitted.predict_samples(X, n_samples=5)
    finally:
        fitted.random_state = 0
    assert not np.allclose(other, first)


def test_samples_differ_with_dropout(fitted: TorchClassifier, digits: Digits) -> None:
    samples = fitted.predict_samples(digits.X_test[:40], n_samples=5)
    spread = samples.std(axis=0).max(axis=1)
    # Every image gets its own masks: all of them vary, not just some.
    assert (spread > 1e-6).all()
    assert not np.allclose(samples[0], samples[1])


def test_samples_equal_predict_proba_without_dropout(digits: Digits) -> None:
    learner = _cnn(dropout=0.0).fit(digits.X_train[:60], digits.y_train[:60])
    X = digits.X_test[:40]
    samples = learner.predict_samples(X, n_samples=4)
    probs = learner.predict_proba(X)
    for sample in samples:
        np.testing.assert_array_equal(sample, probs)


def test_mean_of_many_passes_is_the_deterministic_output(
    fitted: TorchClassifier, digits: Digits
) -> None:
    X = digits.X_test[:30]
    n = 4000
    logits = mc_dropout_logits(fitted.network_, X, n, batch_size=1024, device=CPU, seed=0)
    with torch.inference_mode():
        plain = fitted.network_(torch.from_numpy(X)).numpy()
    # Inverted dropout keeps each logit's mean: the head is linear in the features.
    standard_error = logits.std(axis=0) / np.sqrt(n)
    assert (np.abs(logits.mean(axis=0) - plain) < 5 * standard_error + 1e-4).all()
    probs = fitted.predict_samples(X, n_samples=500).mean(axis=0)
    assert np.abs(probs - fitted.predict_proba(X)).max() < 0.1
    assert (probs.argmax(axis=1) == fitted.predict_proba(X).argmax(axis=1)).mean() >= 0.9


@pytest.mark.parametrize("batch_size", [1024, 16])
def test_reused_features_equal_full_passes(
    fitted: TorchClassifier, digits: Digits, batch_size: int
) -> None:
    X = digits.X_test[:50]
    args: dict[str, Any] = {"batch_size": batch_size, "device": CPU, "seed": 3}
    fast = mc_dropout_logits(fitted.network_, X, 6, reuse_features=True, **args)
    slow = mc_dropout_logits(fitted.network_, X, 6, reuse_features=False, **args)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6)
    assert not np.allclose(fast[0], fast[1])


def test_batch_norm_stays_frozen(fitted: TorchClassifier, digits: Digits) -> None:
    network = fitted.network_
    buffers = {k: v.clone() for k, v in network.state_dict().items()}
    for reuse in (True, False):
        mc_dropout_logits(
            network, digits.X_test[:20], 3, batch_size=8, device=CPU, seed=0, reuse_features=reuse
        )
        assert not any(module.training for module in network.modules())
    for key, value in network.state_dict().items():
        assert torch.equal(value, buffers[key]), key


def test_batch_statistics_would_change_samples(fitted: TorchClassifier, digits: Digits) -> None:
    # Guards the test above: a pass with batch-norm in training mode gives other
    # logits, so freezing it is observable.
    X = torch.from_numpy(digits.X_test[:20])
    network = fitted.network_
    with torch.inference_mode():
        frozen = network.head(network.features(X))
        network.train()
        try:
            batch_stats = network.head(network.features(X))
        finally:
            network.eval()
    assert not torch.allclose(frozen, batch_stats, atol=1e-3)


def test_dropout_in_features_forces_full_passes(digits: Digits) -> None:
    network = _DropoutInFeatures().eval()
    assert features_reusable(SmallCNN(1, 10))
    assert not features_reusable(network)
    X = digits.X_test[:20]
    args: dict[str, Any] = {"batch_size": 8, "device": CPU, "seed": 0}
    auto = mc_dropout_logits(network, X, 3, **args)
    np.testing.assert_array_equal(
        auto, mc_dropout_logits(network, X, 3, **args, reuse_features=False)
    )
    with pytest.raises(InvalidParameterError, match="reuse_features"):
        mc_dropout_logits(network, X, 3, **args, reuse_features=True)


def test_predict_samples_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        _cnn().predict_samples(np.zeros((1, 1, 8, 8), dtype=np.float32), n_samples=2)


@pytest.mark.parametrize("n_samples", [0, -1, 2.0, True])
def test_rejects_bad_n_samples(fitted: TorchClassifier, n_samples: Any) -> None:
    with pytest.raises(InvalidParameterError, match="n_samples"):
        fitted.predict_samples(np.zeros((1, 1, 8, 8), dtype=np.float32), n_samples=n_samples)
