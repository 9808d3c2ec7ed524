import numpy as np
import pytest

from labelloop.learners import (
    DETECTION_LEARNERS,
    LEARNER_NAMES,
    LEARNERS,
    DeepEnsemble,
    InvalidParameterError,
    Learner,
    SklearnLearner,
    TorchClassifier,
    UnknownLearnerError,
    make_learner,
)

from .conftest import Digits


def test_the_backbone_learners_are_the_backbones() -> None:
    from labelloop.learners.backbones import BACKBONE_NAMES
    from labelloop.learners.registry import BACKBONE_LEARNER_NAMES

    assert BACKBONE_LEARNER_NAMES == BACKBONE_NAMES
    assert DETECTION_LEARNERS.names() == ("fcos_resnet50_fpn", "fcos_tiny")


def test_every_name_has_one_line_of_help() -> None:
    help_lines = LEARNERS.help()
    assert tuple(help_lines) == LEARNER_NAMES
    assert all(line and "\n" not in line for line in help_lines.values())


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_make_learner_builds_each_name(name: str) -> None:
    learner = make_learner(name, n_classes=10, input_shape=(1, 8, 8), random_state=3)
    assert isinstance(learner, Learner)
    assert learner.n_classes == 10
    if name.startswith("logreg"):
        assert isinstance(learner, SklearnLearner)
        assert learner.bagging == (10 if name == "logreg_bagging" else 0)
        assert learner.random_state == 3
    elif name == "cnn_ensemble":
        assert isinstance(learner, DeepEnsemble)
        assert learner.members == 5
        assert (learner.base.network, learner.base.random_state) == ("cnn", 3)
    else:
        assert isinstance(learner, TorchClassifier)
        assert learner.network == name
        assert learner.random_state == 3


def test_unknown_name_lists_choices() -> None:
    choices = (
        "cnn, cnn_ensemble, convnext_tiny, efficientnet_b0, logreg, logreg_bagging, open_clip, "
        "resnet18, resnet50, timm, vit_b_16"
    )
    with pytest.raises(UnknownLearnerError, match=choices) as info:
        make_learner("svm", n_classes=10, input_shape=(1, 8, 8))
    assert isinstance(info.value, ValueError)


def test_bad_shape_fails_early() -> None:
    with pytest.raises(InvalidParameterError, match="input_shape"):
        make_learner("cnn", n_classes=10, input_shape=(8, 8))  # type: ignore[arg-type]


def test_logreg_learns_digits(digits: Digits) -> None:
    learner = make_learner("logreg", n_classes=10, input_shape=(1, 8, 8))
    learner.fit(digits.X_train[:300], digits.y_train[:300])
    accuracy = (learner.predict_proba(digits.X_test).argmax(axis=1) == digits.y_test).mean()
    assert accuracy >= 0.9


def test_cnn_learns_digits_with_validation(digits: Digits) -> None:
    learner = make_learner("cnn", n_classes=10, input_shape=(1, 8, 8), device="cpu")
    learner.fit(
        digits.X_train[:250], digits.y_train[:250], digits.X_train[250:300], digits.y_train[250:300]
    )
    accuracy = (learner.predict_proba(digits.X_test).argmax(axis=1) == digits.y_test).mean()
    assert accuracy >= 0.9


@pytest.mark.slow
def test_resnet18_learns_digits(digits: Digits) -> None:
    learner = make_learner("resnet18", n_classes=10, input_shape=(1, 8, 8), device="cpu")
    learner.fit(digits.X_train[:300], digits.y_train[:300])
    probs = learner.predict_proba(digits.X_test)
    assert (probs.argmax(axis=1) == digits.y_test).mean() >= 0.85
    assert np.allclose(probs.sum(axis=1), 1.0)
