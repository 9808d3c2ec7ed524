import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from labelloop.learners import (
    InvalidInputError,
    InvalidParameterError,
    Learner,
    ModelFileCorruptError,
    ModelFileNotFoundError,
    NotFittedError,
    TorchClassifier,
    WeightsMismatchError,
)

from .conftest import Digits, random_images

FAST: dict[str, Any] = {"epochs": 2, "min_epoch_samples": 64, "min_steps": 0, "device": "cpu"}


def _cnn(**params: Any) -> TorchClassifier:
    return TorchClassifier("cnn", 10, (1, 8, 8), **(FAST | params))


@pytest.fixture(scope="module")
def fitted(digits: Digits) -> TorchClassifier:
    return _cnn().fit(digits.X_train[:100], digits.y_train[:100])


def test_is_a_learner() -> None:
    assert isinstance(_cnn(), Learner)


def test_constructor_only_stores_params() -> None:
    learner = TorchClassifier("vgg", 1, (0, 0, 0))  # type: ignore[arg-type]
    assert (learner.n_classes, learner.input_shape) == (1, (0, 0, 0))
    assert not hasattr(learner, "network_")


def test_predict_proba_shape_and_rows(fitted: TorchClassifier, digits: Digits) -> None:
    probs = fitted.predict_proba(digits.X_test[:50])
    assert probs.shape == (50, 10)
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (probs >= 0).all()


def test_embed_shape(fitted: TorchClassifier, digits: Digits) -> None:
    features = fitted.embed(digits.X_test[:50])
    assert features.shape == (50, 128)
    assert features.dtype == np.float32


def test_empty_input_gives_empty_output(fitted: TorchClassifier) -> None:
    empty = np.zeros((0, 1, 8, 8), dtype=np.float32)
    assert fitted.predict_proba(empty).shape == (0, 10)
    assert fitted.embed(empty).shape == (0, 128)


def test_batching_does_not_change_results(fitted: TorchClassifier, digits: Digits) -> None:
    X = digits.X_test[:50]
    whole = fitted.predict_proba(X)
    fitted.inference_batch_size = 7
    try:
        np.testing.assert_allclose(fitted.predict_proba(X), whole, rtol=1e-6, atol=1e-9)
    finally:
        fitted.inference_batch_size = 1024


def test_network_is_left_in_eval_mode(fitted: TorchClassifier) -> None:
    assert not fitted.network_.training


def test_same_seed_same_model(digits: Digits) -> None:
    X, y = digits.X_train[:60], digits.y_train[:60]
    first = _cnn(random_state=5).fit(X, y).predict_proba(digits.X_test[:30])
    second = _cnn(random_state=5).fit(X, y).predict_proba(digits.X_test[:30])
    other = _cnn(random_state=6).fit(X, y).predict_proba(digits.X_test[:30])
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_fit_leaves_global_torch_state_alone(digits: Digits) -> None:
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    _cnn().fit(digits.X_train[:20], digits.y_train[:20])
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads


def test_warm_start_continues_from_previous_weights(digits: Digits) -> None:
    X, y, X_test = digits.X_train[:100], digits.y_train[:100], digits.X_test[:30]
    learner = _cnn().fit(X, y)
    trained = learner.predict_proba(X_test)
    learner.epochs = 0
    np.testing.assert_array_equal(learner.fit(X, y).predict_proba(X_test), trained)


def test_warm_start_off_reinitialises(digits: Digits) -> None:
    X, y, X_test = digits.X_train[:100], digits.y_train[:100], digits.X_test[:30]
    learner = _cnn(warm_start=False).fit(X, y)
    trained = learner.predict_proba(X_test)
    learner.epochs = 0
    reset = learner.fit(X, y).predict_proba(X_test)
    untrained = _cnn(epochs=0).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(reset, untrained)
    assert not np.allclose(reset, trained)


def test_second_warm_fit_differs_from_fresh_fit(digits: Digits) -> None:
    X, y, X_test = digits.X_train[:100], digits.y_train[:100], digits.X_test[:30]
    warm = _cnn().fit(X[:50], y[:50]).fit(X, y).predict_proba(X_test)
    fresh = _cnn().fit(X, y).predict_proba(X_test)
    assert not np.allclose(warm, fresh)


def test_early_stopping_restores_best_epoch(digits: Digits) -> None:
    X, y = digits.X_train[:200], digits.y_train[:200]
    # Shifted validation labels: the better the model learns digits, the worse
    # the validation loss gets after the first epochs.
    X_val, y_val = digits.X_train[200:300], (digits.y_train[200:300] + 1) % 10
    learner = _cnn(epochs=30, patience=2).fit(X, y, X_val, y_val)
    history = learner.history_
    assert 1 <= learner.best_epoch_ < len(history) < 30
    assert len(history) == learner.best_epoch_ + 2
    val_losses = [h.val_loss for h in history]
    assert val_losses.index(min(val_losses)) + 1 == learner.best_epoch_  # type: ignore[type-var]
    # The weights put back are the best epoch's: they score its validation loss again.
    probs = learner.predict_proba(X_val)
    held = -np.log(probs[np.arange(len(y_val)), y_val]).mean()
    assert held == pytest.approx(min(val_losses), rel=1e-4)  # type: ignore[type-var]


def test_small_validation_side_chooses_nothing(digits: Digits) -> None:
    """With fewer validation images than early_stopping_min_val, the fit runs its whole budget."""
    X, y = digits.X_train[:200], digits.y_train[:200]
    X_val, y_val = digits.X_train[200:210], (digits.y_train[200:210] + 1) % 10
    learner = _cnn(epochs=8, patience=1, early_stopping_min_val=11).fit(X, y, X_val, y_val)
    assert len(learner.history_) == 8 and learner.best_epoch_ == 8
    assert all(h.val_loss is not None for h in learner.history_)  # still measured
    trusted = _cnn(epochs=8, patience=1, early_stopping_min_val=10).fit(X, y, X_val, y_val)
    assert len(trusted.history_) < 8


def test_min_steps_raises_the_epochs_of_a_small_set(digits: Digits) -> None:
    # 20 images, one batch of 20 per epoch (a set smaller than batch_size is its own batch).
    learner = _cnn(epochs=2, min_steps=30, min_epoch_samples=0)
    learner.fit(digits.X_train[:20], digits.y_train[:20])
    assert len(learner.history_) == 30
    big = _cnn(epochs=2, min_steps=30, min_epoch_samples=0, batch_size=10)
    assert len(big.fit(digits.X_train[:200], digits.y_train[:200]).history_) == 2  # 20 steps each
    untouched = _cnn(epochs=0, min_steps=30).fit(digits.X_train[:20], digits.y_train[:20])
    assert untouched.history_ == []


@pytest.mark.parametrize("augment", ["shift", "shift_flip"])
def test_augmentation_changes_the_fit_and_stays_reproducible(digits: Digits, augment: str) -> None:
    X, y, X_test = digits.X_train[:60], digits.y_train[:60], digits.X_test[:30]
    plain = _cnn(augment="none").fit(X, y).predict_proba(X_test)
    first = _cnn(augment=augment).fit(X, y).predict_proba(X_test)
    again = _cnn(augment=augment).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, plain)


def test_warm_start_that_collapsed_is_redone_from_scratch(digits: Digits) -> None:
    X, y = digits.X_train[:100], digits.y_train[:100]
    learner = _cnn(epochs=3).fit(X, y)
    assert not learner.restarted_
    # Break the network: a head that says "3" for every image whatever the features.
    with torch.no_grad():
        learner.network_.head.weight.zero_()
        learner.network_.head.bias.fill_(-50.0)
        learner.network_.head.bias[3] = 50.0
    learner.epochs, learner.lr = 1, 1e-9  # too little to undo it by training on
    learner.fit(X, y)
    assert learner.restarted_
    fresh = _cnn(epochs=1, lr=1e-9, warm_start=False).fit(X, y)
    np.testing.assert_array_equal(learner.predict_proba(X), fresh.predict_proba(X))


def test_without_validation_runs_all_epochs(digits: Digits) -> None:
    learner = _cnn(epochs=3).fit(digits.X_train[:40], digits.y_train[:40])
    assert [h.epoch for h in learner.history_] == [1, 2, 3]
    assert learner.best_epoch_ == 3
    assert all(h.val_loss is None for h in learner.history_)


def test_learns_digits(digits: Digits) -> None:
    learner = TorchClassifier("cnn", 10, (1, 8, 8), device="cpu")
    learner.fit(digits.X_train[:300], digits.y_train[:300])
    accuracy = (learner.predict_proba(digits.X_test).argmax(axis=1) == digits.y_test).mean()
    assert accuracy >= 0.9


def test_fits_one_labeled_image(digits: Digits) -> None:
    learner = _cnn(min_epoch_samples=0).fit(digits.X_train[:1], digits.y_train[:1])
    assert learner.predict_proba(digits.X_test[:3]).shape == (3, 10)


def test_cnn_accepts_other_sizes() -> None:
    X = random_images(6, (3, 13, 21))
    learner = TorchClassifier("cnn", 3, (3, 13, 21), **FAST).fit(X, np.array([0, 1, 2, 0, 1, 2]))
    assert learner.predict_proba(X).shape == (6, 3)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_resnet18_fits_a_step(shape: tuple[int, int, int]) -> None:
    X = random_images(6, shape)
    learner = TorchClassifier(
        "resnet18", 4, shape, epochs=1, min_epoch_samples=0, min_steps=0, batch_size=4, device="cpu"
    )
    learner.fit(X, np.array([0, 1, 2, 3, 0, 1]))
    assert len(learner.history_) == 1
    probs = learner.predict_proba(X)
    assert probs.shape == (6, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert learner.embed(X).shape == (6, 512)


def test_save_load_round_trip(fitted: TorchClassifier, digits: Digits, tmp_path: Path) -> None:
    path = tmp_path / "cnn.pt"
    fitted.save(path)
    restored = _cnn().load(path)
    X = digits.X_test[:40]
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.embed(X), fitted.embed(X))


def test_fit_after_load_warm_starts(
    fitted: TorchClassifier, digits: Digits, tmp_path: Path
) -> None:
    path = tmp_path / "cnn.pt"
    fitted.save(path)
    restored = _cnn(epochs=0).load(path).fit(digits.X_train[:10], digits.y_train[:10])
    X = digits.X_test[:40]
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_load_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.pt"
    with pytest.raises(ModelFileNotFoundError, match=re.escape(str(path))):
        _cnn().load(path)


def test_load_corrupt_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileCorruptError, match=re.escape(str(path))):
        _cnn().load(path)


def test_load_plain_state_dict_points_to_weights_path(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(ModelFileCorruptError, match="weights_path"):
        _cnn().load(path)


def test_load_rejects_other_architecture(fitted: TorchClassifier, tmp_path: Path) -> None:
    path = tmp_path / "cnn.pt"
    fitted.save(path)
    with pytest.raises(WeightsMismatchError, match="n_classes"):
        TorchClassifier("cnn", 7, (1, 8, 8)).load(path)


def test_save_before_fit_raises(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        _cnn().save(tmp_path / "cnn.pt")


@pytest.mark.parametrize("method", ["predict_proba", "embed"])
def test_predict_before_fit_raises(method: str) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        getattr(_cnn(), method)(np.zeros((1, 1, 8, 8), dtype=np.float32))


BAD_INPUTS = [
    pytest.param(np.zeros((4, 8, 8), np.float32), np.zeros(4, np.int64), "4-D", id="3-D X"),
    pytest.param(np.zeros((4, 3, 8, 8), np.float32), np.zeros(4, np.int64), "channels", id="RGB"),
    pytest.param(np.zeros((4, 1, 9, 9), np.float32), np.zeros(4, np.int64), "9x9", id="size"),
    pytest.param(np.zeros((4, 1, 8, 8), np.float32), np.zeros(3, np.int64), "3 labels", id="len"),
    pytest.param(np.zeros((2, 1, 8, 8), np.float32), np.array([0, 10]), "index 10", id="range"),
    pytest.param(np.zeros((2, 1, 8, 8), np.float32), np.array([0, -1]), "index -1", id="neg"),
    pytest.param(np.zeros((2, 1, 8, 8), np.float32), np.array([0.0, 1.0]), "integer", id="float"),
    pytest.param(np.zeros((0, 1, 8, 8), np.float32), np.zeros(0, np.int64), "empty", id="empty"),
    pytest.param(np.full((2, 1, 8, 8), "a"), np.zeros(2, np.int64), "real numbers", id="str"),
]


@pytest.mark.parametrize(("X", "y", "message"), BAD_INPUTS)
def test_fit_rejects_bad_input(X: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _cnn().fit(X, y)


def test_fit_rejects_bad_validation(digits: Digits) -> None:
    X, y = digits.X_train[:10], digits.y_train[:10]
    with pytest.raises(InvalidInputError, match="both X_val and y_val"):
        _cnn().fit(X, y, X_val=X)
    with pytest.raises(InvalidInputError, match="y_val"):
        _cnn().fit(X, y, X, y[:5])


def test_predict_rejects_wrong_channels(fitted: TorchClassifier) -> None:
    with pytest.raises(InvalidInputError, match="3 channels"):
        fitted.predict_proba(np.zeros((2, 3, 8, 8), dtype=np.float32))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"network": "vgg"}, "network"),
        ({"n_classes": 1}, "n_classes"),
        ({"input_shape": (1, 8)}, "input_shape"),
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 1}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"patience": 0}, "patience"),
        ({"min_steps": -1}, "min_steps"),
        ({"early_stopping_min_val": 0}, "early_stopping_min_val"),
        ({"augment": "rotate"}, "augment"),
        ({"dropout": 1.0}, "dropout"),
        ({"random_state": -3}, "random_state"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_fit_rejects_bad_params(params: dict[str, Any], name: str, digits: Digits) -> None:
    defaults: dict[str, Any] = {"network": "cnn", "n_classes": 10, "input_shape": (1, 8, 8)}
    args = defaults | params
    learner = TorchClassifier(args.pop("network"), args.pop("n_classes"), args.pop("input_shape"))
    for key, value in (FAST | args).items():
        setattr(learner, key, value)
    with pytest.raises(InvalidParameterError, match=name):
        learner.fit(digits.X_train[:4], digits.y_train[:4])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_without_gpu_says_so(digits: Digits) -> None:
    with pytest.raises(InvalidParameterError, match="CUDA"):
        _cnn(device="cuda").fit(digits.X_train[:4], digits.y_train[:4])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fits_on_cuda(digits: Digits) -> None:
    learner = _cnn(device="cuda").fit(digits.X_train[:100], digits.y_train[:100])
    assert learner.device_.type == "cuda"
    probs = learner.predict_proba(digits.X_test[:20])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_dropout_param_reaches_network(digits: Digits) -> None:
    X, y = digits.X_train[:20], digits.y_train[:20]
    learner = _cnn(dropout=0.1).fit(X, y)
    assert learner.network_.dropout.p == pytest.approx(0.1)
    learner.dropout, learner.epochs = 0.5, 0
    assert learner.fit(X, y).network_.dropout.p == pytest.approx(0.5)


def test_default_cnn_learns_from_20_labels_of_28px_digits(digits: Digits) -> None:
    """Issue: at 28x28 the CNN sat at chance below ~60 labels, predicting one class."""
    from torch.nn.functional import interpolate

    from labelloop.learners import make_learner

    def upscale(X: np.ndarray) -> np.ndarray:
        return interpolate(torch.from_numpy(X), size=(28, 28), mode="bilinear").numpy()

    X, y = upscale(digits.X_train), digits.y_train
    # Two of each class, as a stratified seed set; 16 train and 4 validation, as the loop splits.
    seed = np.concatenate([np.flatnonzero(y == c)[:2] for c in range(10)])
    train, val = seed[[i for i in range(20) if i % 5]], seed[::5]
    learner = make_learner("cnn", n_classes=10, input_shape=(1, 28, 28), random_state=0)
    learner.fit(X[train], y[train], X[val], y[val])
    predicted = learner.predict_proba(upscale(digits.X_test)).argmax(axis=1)
    assert len(np.unique(predicted)) >= 5
    assert (predicted == digits.y_test).mean() > 0.3
