"""A PyTorch image classifier that follows the :class:`Learner` protocol."""

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from labelloop.learners._validation import (
    N_CLASSES,
    ImageShape,
    InputShape,
    check_fit_data,
    check_fitted,
    check_images,
    check_input_shape,
    check_n_samples,
    check_validation_data,
)
from labelloop.learners.augment import AUGMENT_NAMES, AugmentName
from labelloop.learners.base import Images, Labels
from labelloop.learners.calibration import calibrate_on_validation
from labelloop.learners.classifier_network import (
    CLASSIFIER_CHECKPOINT,
    CLASSIFIER_NETWORK_NAMES,
    ClassifierNetwork,
    batched_probabilities,
    batched_samples,
    weights_copy,
)
from labelloop.learners.errors import InvalidParameterError
from labelloop.learners.health import prediction_collapse
from labelloop.learners.hub_backbones import BackboneName
from labelloop.learners.networks import FeatureClassifier, NetworkName
from labelloop.learners.training import (
    EpochStats,
    batched_features,
    batched_logits,
    resolve_device,
    seeded,
    train,
)
from labelloop.plugins import Choice, Configurable, Constraint, Flag, Integer, Number

__all__ = ["TorchClassifier"]


@dataclass(eq=False, repr=False)
class TorchClassifier(Configurable):
    """A convolutional network trained from scratch (or from a weights file).

    Each :meth:`fit` trains with AdamW on shuffled mini-batches. Given a
    validation split it stops early on the validation loss and keeps the best
    epoch's weights; otherwise it trains for ``epochs`` epochs. With
    ``warm_start`` a later ``fit`` continues from the current weights, which
    suits an active-learning loop that refits on a growing labeled set.

    A fit is reproducible on the CPU: the same weights, data and parameters
    give the same model. Seeding happens inside forked generators, so torch's
    global random state is left as it was.

    :meth:`predict_samples` gives Monte Carlo dropout samples: stochastic
    passes with the dropout before the head on and batch-norm in eval mode.

    With ``calibrate`` and a validation split, ``fit`` ends by fitting a
    temperature on the validation logits
    (:func:`~labelloop.learners.calibration.calibrate_on_validation`, whose
    prior keeps ``T`` near 1 on a small or error-free split);
    :meth:`predict_proba` and :meth:`predict_samples` divide the logits by it.
    The temperature is fitted on the same split that picks the best epoch, so
    ``ece_after_`` is an in-sample figure. A fit without validation resets the
    temperature to 1.

    Args:
        network: ``"cnn"``, ``"resnet18"`` or a torchvision backbone; the torch
            module each builds is :class:`~.classifier_network.ClassifierNetwork`'s.
        n_classes: Number of classes; labels lie in ``[0, n_classes)``.
        input_shape: ``(channels, height, width)`` of every image.
        epochs: Most epochs per fit (exactly this many without validation).
        batch_size: Largest mini-batch; at least 2.
        min_epoch_samples: Fewest samples an epoch draws. A smaller labeled
            set is passed over several times per epoch (each pass shuffled),
            so a fit on 20 images still takes enough optimizer steps.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without a lower validation loss before stopping.
        random_state: Seeds initialisation, shuffling and dropout.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``None`` for CUDA when
            available, else the CPU.
        warm_start: If true, a later fit starts from the current weights; if
            false, every fit starts from a fresh initialisation.
        weights_path: A state-dict file (``torch.save(model.state_dict())``)
            loaded after each fresh initialisation. Weights whose names or
            shapes do not fit (a 1000-class head, an RGB stem) are skipped.
        dropout: Dropout probability before the classifier head.
        inference_batch_size: Images per batch in :meth:`predict_proba`,
            :meth:`predict_samples`, :meth:`embed` and validation.
        calibrate: If true, fit a temperature on the validation split at the
            end of each fit that has one. Off by default, so probabilities are
            the network's own softmax unless asked for.
        min_steps: Fewest optimiser steps of a fit that trains at all; a fit
            on a small labeled set runs more than ``epochs`` epochs to reach
            it. The learning rate warms up and then follows a cosine over
            the planned steps (:mod:`labelloop.learners._schedule`).
        early_stopping_min_val: Fewest validation images early stopping
            trusts. A smaller validation split is measured every epoch (see
            ``history_``) but the fit runs its whole budget and keeps the last
            weights: on 4 images the loss picks an epoch by chance.
        augment: ``"shift"`` (default: random shifts of up to 10% and zooms
            of up to 10%), ``"shift_flip"`` (also left-right mirroring, for
            photos) or ``"none"``; see :mod:`labelloop.learners.augment`.

    Attributes:
        network_: The trained network, in eval mode, on ``device_``.
        device_: The device the network lives on.
        history_: Stats of each epoch of the last fit.
        best_epoch_: Epoch of the last fit whose weights the network holds;
            0 when no epoch ran.
        skipped_weights_: Names in ``weights_path`` that did not fit the
            network; empty without ``weights_path``.
        temperature_: The logits' divisor; 1.0 unless ``calibrate`` fitted one.
        ece_before_: Expected calibration error on the validation split of the
            last fit before temperature scaling; ``None`` without validation
            and after :meth:`load`.
        ece_after_: The same with the temperature applied; equals
            ``ece_before_`` when the temperature is 1.
        restarted_: True when the last fit was warm-started, collapsed to
            predicting one class on its own training images, and was redone
            from a fresh initialisation.
        refit_epochs_: Epochs the last :meth:`refit` ran.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "augment": Choice(AUGMENT_NAMES),
        "backbone_size": Integer(low=1),
        "batch_size": Integer(low=2),
        "calibrate": Flag(),
        "dropout": Number(low=0.0, high=1.0, high_open=True),
        "early_stopping_min_val": Integer(low=1),
        "epochs": Integer(low=0),
        "inference_batch_size": Integer(low=1),
        "input_shape": InputShape(),
        "lr": Number(low=0.0, low_open=True),
        "min_epoch_samples": Integer(low=0),
        "min_steps": Integer(low=0),
        "n_classes": N_CLASSES,
        "network": BackboneName(CLASSIFIER_NETWORK_NAMES),
        "patience": Integer(low=1),
        "random_state": Integer(low=0),
        "warm_start": Flag(),
        "weight_decay": Number(low=0.0),
    }
    parameter_error = InvalidParameterError

    network: NetworkName
    n_classes: int
    input_shape: tuple[int, int, int]
    _: KW_ONLY
    epochs: int = 15
    batch_size: int = 64
    min_epoch_samples: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 5
    random_state: int = 0
    device: str | None = None
    warm_start: bool = True
    weights_path: Path | None = None
    dropout: float = 0.25
    inference_batch_size: int = 1024
    calibrate: bool = False
    min_steps: int = 200
    early_stopping_min_val: int = 50
    augment: AugmentName = "shift"
    backbone_weights: str = "none"
    backbone_size: int = 224

    network_: FeatureClassifier = field(init=False)
    device_: torch.device = field(init=False)
    history_: list[EpochStats] = field(init=False)
    best_epoch_: int = field(init=False)
    skipped_weights_: list[str] = field(init=False)
    temperature_: float = field(init=False)
    ece_before_: float | None = field(init=False)
    ece_after_: float | None = field(init=False)
    restarted_: bool = field(init=False)
    refit_epochs_: int = field(init=False)
    # Where the last fit started (warm weights, or None for fresh), for refit().
    _start_state: dict[str, Tensor] | None = field(init=False, default=None, repr=False)
    # (network, n_classes, input_shape) the current network_ was built for.
    _built_for: tuple[str, int, ImageShape] | None = field(init=False, default=None, repr=False)

    def fit(
        self, X: Images, y: Labels, X_val: Images | None = None, y_val: Labels | None = None
    ) -> Self:
        """Train the network on a labeled set.

        Args:
            X: Images in ``[0, 1]``, shape ``(n_samples, channels, height, width)``.
            y: Class indices in ``[0, n_classes)``, shape ``(n_samples,)``.
            X_val: Validation images for early stopping, shape
                ``(n_val, channels, height, width)``.
            y_val: Validation class indices, shape ``(n_val,)``.

        Returns:
            The fitted classifier itself.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            InvalidInputError: If the images or labels are malformed, or only
                one of ``X_val`` and ``y_val`` is given.
        """
        n_classes, input_shape = self._check_params()
        images, labels = check_fit_data(X, y, n_classes=n_classes, input_shape=input_shape)
        validation = check_validation_data(
            X_val, y_val, n_classes=n_classes, input_shape=input_shape, epochs=self.epochs
        )
        device = resolve_device(self.device)
        warm = self.warm_start and self._fits_current_network(n_classes, input_shape)
        # Where this fit started, so that refit() can train again from the same point.
        self._start_state = weights_copy(self.network_) if warm else None
        self._train(images, labels, validation, device, fresh=not warm)
        self.restarted_ = False
        if warm and self.epochs > 0 and self._collapsed_on(images, labels):
            # The warm start locked in a degenerate model: start again from scratch.
            self._train(images, labels, validation, device, fresh=True)
            self.restarted_ = True
        self._fit_temperature(validation)
        return self

    def refit(self, X: NDArray[np.floating], y: NDArray[np.integer]) -> Self:
        """Train again on every label for the epochs the last validated fit chose.

        The active-learning loop validates on a held-out side of the labels
        (metrics, early stopping, calibration), then calls this so that the
        model that ranks the pool and writes auto labels has learned from all
        of them. The fit starts where the last :meth:`fit` started (the same
        warm weights, or a fresh initialisation), runs ``best_epoch_`` epochs
        (at least ``min_steps`` steps) without validation, and keeps the
        temperature and the validation figures of the validated fit:
        ``history_``, ``best_epoch_`` and ``ece_*_`` still describe the model
        that did not see the validation side.

        Args:
            X: Every labeled image, shape ``(n_samples, channels, height, width)``.
            y: Their class indices.

        Returns:
            The refitted classifier itself.

        Raises:
            NotFittedError: If called before :meth:`fit`.
        """
        self._check_fitted()
        n_classes, input_shape = self._check_params()
        images, labels = check_fit_data(X, y, n_classes=n_classes, input_shape=input_shape)
        kept = (self.temperature_, self.history_, self.best_epoch_, self.restarted_)
        start = self._start_state
        epochs = max(1, self.best_epoch_)
        fresh = start is None or self.restarted_
        if start is not None and not fresh:
            self.network_.load_state_dict(start)
        self._train(images, labels, None, self.device_, fresh=fresh, epochs=epochs)
        self.temperature_, self.history_, self.best_epoch_, self.restarted_ = kept
        self.refit_epochs_ = epochs
        return self

    def _train(
        self,
        images: NDArray[np.float32],
        labels: NDArray[np.int64],
        validation: tuple[NDArray[np.float32], NDArray[np.int64]] | None,
        device: torch.device,
        *,
        fresh: bool,
        epochs: int | None = None,
    ) -> None:
        n_classes, input_shape = self._check_params()
        with seeded(self.random_state, device):
            if fresh:
                self._init_network(n_classes, input_shape)
            self.network_.dropout.p = float(self.dropout)
            self.network_.to(device)
            self.device_ = device
            # The old temperature belongs to the old weights; _fit_temperature sets the new one.
            self.temperature_ = 1.0
            self.history_, self.best_epoch_ = train(
                self.network_,
                images,
                labels,
                validation=validation,
                epochs=self.epochs if epochs is None else epochs,
                settings=self,
                device=device,
            )

    def _collapsed_on(self, images: NDArray[np.float32], labels: NDArray[np.int64]) -> bool:
        """Whether the network predicts one class for (almost) all of its own training images."""
        predicted = self.predict_proba(images).argmax(axis=1)
        return prediction_collapse(predicted, labels, self.n_classes).collapsed

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Class probabilities, computed in batches with dropout off.

        The logits are divided by ``temperature_`` first (1 unless calibrated).
        Arguments and result as :meth:`~labelloop.learners.base.Learner.predict_proba`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
        """
        images = self._check_predict_input(X)
        return batched_probabilities(
            self.network_,
            images,
            self.temperature_,
            batch_size=self.inference_batch_size,
            device=self.device_,
        )

    def predict_samples(self, X: NDArray[np.floating], n_samples: int = 20) -> NDArray[np.float64]:
        """Monte Carlo dropout: probabilities of stochastic passes with dropout on.

        Only the dropout layers run in training mode; batch-norm keeps its
        running statistics. The features are computed once per batch, so 20
        passes cost little more than one :meth:`predict_proba`
        (:mod:`~labelloop.learners.mc_dropout`). The masks are seeded with
        ``random_state``: the same call returns the same samples (for the same
        ``inference_batch_size``). With ``dropout=0`` every sample equals
        :meth:`predict_proba`. The logits are divided by ``temperature_``.
        Arguments and result as
        :meth:`~labelloop.learners.base.SupportsSamples.predict_samples`, with
        ``n_samples`` passes; the host holds ``n_samples * n * n_classes`` float64 values.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
            InvalidParameterError: If ``n_samples`` is not a positive int.
        """
        images = self._check_predict_input(X)
        n_samples = check_n_samples(n_samples)
        return batched_samples(
            self.network_,
            images,
            n_samples,
            self.temperature_,
            batch_size=self.inference_batch_size,
            device=self.device_,
            seed=self.random_state,
        )

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        """Penultimate-layer features, computed in batches.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.embed`;
        ``d`` is 128 for ``"cnn"``, 512 for ``"resnet18"``.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
        """
        images = self._check_predict_input(X)
        return batched_features(
            self.network_, images, batch_size=self.inference_batch_size, device=self.device_
        )

    def save(self, path: Path) -> None:
        """Write the weights and the architecture they belong to.

        The file holds only tensors and plain values, so :meth:`load` reads it
        with ``torch.load(weights_only=True)``. Arguments as
        :meth:`~labelloop.learners.base.Learner.save`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
        """
        CLASSIFIER_CHECKPOINT.save(path, self._to_state())

    def load(self, path: Path) -> Self:
        """Restore weights written by :meth:`save`, on the device ``device`` picks.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.load`.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            ModelFileNotFoundError: If ``path`` does not exist.
            ModelFileCorruptError: If the file is not a saved ``TorchClassifier``.
            WeightsMismatchError: If it was saved for another network,
                ``n_classes`` or ``input_shape``.
        """
        path = Path(path)
        return self._from_state(CLASSIFIER_CHECKPOINT.read(path), path)

    def _to_state(self) -> dict[str, Any]:
        """The fitted model as tensors and plain values, for :func:`torch.save`."""
        self._check_fitted()
        spec = self._network_for(self.n_classes, self.input_shape)
        return spec.state(self.network_, self.temperature_)

    def _from_state(self, state: dict[str, Any], path: Path) -> Self:
        """Restore what :meth:`_to_state` returned; ``path`` is named in errors."""
        n_classes, input_shape = self._check_params()
        device = resolve_device(self.device)
        spec = self._network_for(n_classes, input_shape)
        network, temperature = spec.restore(state, path, device=device, seed=self.random_state)
        self.network_, self.temperature_, self.device_ = network, temperature, device
        self._built_for = (self.network, n_classes, input_shape)
        self.history_, self.best_epoch_, self.skipped_weights_ = [], 0, []
        self.ece_before_ = self.ece_after_ = None
        self.restarted_ = False
        return self

    def _network_for(self, n_classes: int, input_shape: ImageShape) -> ClassifierNetwork:
        return ClassifierNetwork(
            self.network,
            n_classes,
            input_shape,
            dropout=float(self.dropout),
            backbone_weights=self.backbone_weights,
            backbone_size=int(self.backbone_size),
        )

    def _build(self, n_classes: int, input_shape: ImageShape, *, weights: str) -> FeatureClassifier:
        return self._network_for(n_classes, input_shape).build(weights)

    def _check_params(self) -> tuple[int, ImageShape]:
        checked = self.check_params()
        return checked["n_classes"], checked["input_shape"]

    def _fit_temperature(
        self, validation: tuple[NDArray[np.float32], NDArray[np.int64]] | None
    ) -> None:
        """Measure calibration on the validation split; fit ``temperature_`` if asked."""
        self.temperature_, self.ece_before_, self.ece_after_ = 1.0, None, None
        if validation is None:
            return
        X_val, y_val = validation
        logits = batched_logits(
            self.network_, X_val, batch_size=self.inference_batch_size, device=self.device_
        )
        # Without calibrate the temperature is 1: one fitted to an earlier fit does not hold.
        found = calibrate_on_validation(logits, y_val, fit_temperature=self.calibrate)
        self.temperature_ = found.temperature
        self.ece_before_, self.ece_after_ = found.ece_before, found.ece_after

    def _fits_current_network(self, n_classes: int, input_shape: ImageShape) -> bool:
        built_for = (self.network, n_classes, input_shape)
        return hasattr(self, "network_") and self._built_for == built_for

    def _init_network(self, n_classes: int, input_shape: ImageShape) -> None:
        spec = self._network_for(n_classes, input_shape)
        self.network_, self.skipped_weights_ = spec.initialise(self.weights_path)
        self._built_for = (self.network, n_classes, input_shape)

    def _check_fitted(self) -> None:
        check_fitted(self, "network_")

    def _check_predict_input(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        self._check_fitted()
        return check_images(X, input_shape=check_input_shape(self.input_shape))
