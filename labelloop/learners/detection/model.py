"""An object detector for the active-learning loop: torchvision FCOS, trained from scratch.

Labels and predictions are :mod:`~labelloop.learners.detection.types`: boxes
in pixels of the original image, ``(x, y, width, height)``, plus a class
index into the detector's ``classes``. Images are ``float32`` arrays of shape
``(n, channels, height, width)`` in ``[0, 1]``, as for the classifiers.

Each predicted box carries the whole class distribution of its location, so
the detection strategies (:mod:`labelloop.strategies.detection`) can score
per-object uncertainty, and optionally a localization stability (Kao et al.,
"Localization-Aware Active Learning for Object Detection", 2018): how well the
box survives a mirrored and a noisy copy of the image.
"""

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torchvision.models.detection import FCOS

from labelloop.learners._checkpoint import Checkpoint, weights_of
from labelloop.learners._validation import ClassNames, check_fitted, check_images
from labelloop.learners.detection._net import (
    ARCHITECTURES,
    Architecture,
    RawDetections,
    build_fcos,
    detect,
    embedding_dim,
    matched_iou,
    mirror_boxes,
    pooled_features,
    xyxy_to_xywh,
)
from labelloop.learners.detection._training import (
    DetectionEpochStats,
    TargetTensors,
    target_tensors,
    train_detector,
)
from labelloop.learners.detection.types import BoxTargets, ImageDetections
from labelloop.learners.errors import InvalidInputError, InvalidParameterError
from labelloop.learners.networks import load_matching_weights, read_state_dict
from labelloop.learners.training import map_batches, resolve_device, seeded
from labelloop.plugins import Choice, Configurable, Constraint, Flag, Integer, Number

__all__ = ["DetectionEpochStats", "TorchDetector"]

_CHECKPOINT = Checkpoint("TorchDetector", version=1)
# Standard deviation of the noise added to the noisy copy for stability.
_STABILITY_NOISE = 0.02


@dataclass(eq=False, repr=False)
class TorchDetector(Configurable):
    """An FCOS object detector that the labeling loop fits, scores with and stores.

    Each :meth:`fit` trains with AdamW on shuffled mini-batches, left-right
    mirrored at random. Given a validation split it stops early on the
    validation loss and keeps the best epoch's weights; otherwise it trains
    for ``epochs`` epochs. With ``warm_start`` a later fit continues from the
    current weights (same architecture, classes and channels). :meth:`refit`
    then trains again on every label, validation images included. A fit is
    reproducible on the CPU for a fixed ``random_state``, and leaves torch's
    global random state as it was.

    Images are neither resized nor cropped: they are normalised and padded to
    a multiple of 32 px, so a 64 px image is seen at 64 px.

    Args:
        classes: Class names; a label is an index into them. At least one.
        architecture: ``"fcos_tiny"`` (default: a five-stage, 64-channel
            backbone with a three-level feature pyramid and two-conv heads,
            about 0.5 M weights, for 64-128 px images with 10-60 px objects)
            or ``"fcos_resnet50_fpn"`` (torchvision's FCOS layout, 32 M
            weights; pass ``weights_path`` to start from pretrained weights).
        image_channels: Channels of the images (1 or 3 for the ResNet, whose
            stem takes 3 channels; grayscale is repeated).
        epochs: Most epochs per fit.
        batch_size: Images per mini-batch.
        min_epoch_samples: Fewest images an epoch draws; a small labeled set
            is passed over several times per epoch.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without a lower validation loss before stopping.
        augment: If true, mirror training images left-right at random.
        random_state: Seeds initialisation, shuffling, mirroring and the noise
            of the stability pass.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``"auto"``/``None``
            for CUDA when available, else the CPU.
        weights_path: A state-dict file loaded after each fresh initialisation;
            weights whose names or shapes do not fit are skipped. A plain
            ResNet-50 state dict fills the ResNet backbone.
        score_threshold: Boxes scoring at most this are not reported.
        nms_threshold: IoU above which a lower-scoring box of the same class
            is suppressed.
        max_detections: Most boxes reported per image.
        warm_start: If true, a later fit starts from the current weights.
        inference_batch_size: Images per batch in :meth:`predict` and :meth:`embed`.
        min_steps: Fewest optimiser steps of a fit that trains at all;
            ``epochs`` is raised for a small labeled set until it is reached.
        early_stopping_min_val: Fewest validation images early stopping
            trusts; a smaller split is measured but the fit runs its budget.

    Attributes:
        network_: The trained FCOS model, in eval mode, on ``device_``.
        device_: The device it lives on.
        history_: Stats of each epoch of the last fit.
        best_epoch_: Epoch of the last fit whose weights the network holds
            (after :meth:`refit`, the validated fit's choice).
        skipped_weights_: Names in ``weights_path`` that did not fit.
        refit_epochs_: Epochs the last :meth:`refit` was asked for.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "architecture": Choice(ARCHITECTURES),
        "augment": Flag(),
        "batch_size": Integer(low=1),
        "classes": ClassNames(),
        "early_stopping_min_val": Integer(low=1),
        "epochs": Integer(low=0),
        "image_channels": Integer(low=1),
        "inference_batch_size": Integer(low=1),
        "lr": Number(low=0.0, low_open=True),
        "max_detections": Integer(low=1),
        "min_epoch_samples": Integer(low=0),
        "min_steps": Integer(low=0),
        "nms_threshold": Number(low=0.0, high=1.0, low_open=True, high_open=True),
        "patience": Integer(low=1),
        "random_state": Integer(low=0),
        "score_threshold": Number(low=0.0, high=1.0, high_open=True),
        "warm_start": Flag(),
        "weight_decay": Number(low=0.0),
    }
    parameter_error = InvalidParameterError

    classes: Sequence[str]
    _: KW_ONLY
    architecture: Architecture = "fcos_tiny"
    image_channels: int = 1
    epochs: int = 20
    batch_size: int = 16
    min_epoch_samples: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 5
    augment: bool = True
    random_state: int = 0
    device: str | None = "auto"
    weights_path: Path | None = None
    score_threshold: float = 0.05
    nms_threshold: float = 0.6
    max_detections: int = 100
    warm_start: bool = True
    inference_batch_size: int = 64
    min_steps: int = 160
    early_stopping_min_val: int = 20

    network_: FCOS = field(init=False)
    device_: torch.device = field(init=False)
    history_: list[DetectionEpochStats] = field(init=False)
    best_epoch_: int = field(init=False)
    skipped_weights_: list[str] = field(init=False)
    refit_epochs_: int = field(init=False)
    # The architecture the network was built for, and (for refit) the weights the last fit
    # started from; None when it started from a fresh initialisation.
    _built_for: dict[str, Any] | None = field(init=False, default=None, repr=False)
    _start_state: dict[str, Tensor] | None = field(init=False, default=None, repr=False)

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    def fit(
        self,
        images: NDArray[np.floating],
        targets: Sequence[BoxTargets],
        images_val: NDArray[np.floating] | None = None,
        targets_val: Sequence[BoxTargets] | None = None,
    ) -> Self:
        """Train the detector on labeled images.

        Args:
            images: Images in ``[0, 1]``, shape ``(n, channels, height, width)``.
            targets: One :class:`BoxTargets` per image; empty ones are negatives.
            images_val: Validation images for early stopping, shape
                ``(n_val, channels, height, width)``.
            targets_val: One :class:`BoxTargets` per validation image.

        Returns:
            The fitted detector itself.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            InvalidInputError: If the images or targets are malformed, or only
                one of ``images_val`` and ``targets_val`` is given.
        """
        classes = self._check_params()
        train_images, train_targets = self._check_fit_data(images, targets, "")
        validation = None
        if (images_val is None) != (targets_val is None):
            raise InvalidInputError(
                "pass both images_val and targets_val for early stopping, or neither to "
                f"train for a fixed {self.epochs} epochs."
            )
        if images_val is not None and targets_val is not None:
            validation = self._check_fit_data(images_val, targets_val, "_val")
        device = resolve_device(None if self.device == "auto" else self.device)
        warm = self.warm_start and self._fits_current_network(classes)
        # Where this fit starts, so that refit() can train again from the same point.
        self._start_state = _weights_copy(self.network_) if warm else None
        self._train(train_images, train_targets, validation, device, epochs=self.epochs)
        return self

    def refit(self, images: NDArray[np.floating], targets: Sequence[BoxTargets]) -> Self:
        """Train again on every label for the epochs the last validated fit chose.

        The labeling loop validates on a held-out side of the labels (mAP,
        early stopping), then calls this so that the model that ranks the
        pool and writes auto labels has learned from all of them. The fit
        starts where the last :meth:`fit` started (the same warm weights, or
        the same fresh initialisation), runs ``best_epoch_`` epochs (at least
        ``min_steps`` steps) without validation, and keeps ``history_`` and
        ``best_epoch_`` of the validated fit. When that fit ran no epoch
        (``epochs=0``, or only :meth:`load`), there is nothing to redo and the
        weights stay as they are.

        Args:
            images: Every labeled image, shape ``(n, channels, height, width)``.
            targets: One :class:`BoxTargets` per image.

        Returns:
            The refitted detector itself.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If the images or targets are malformed.
        """
        self._check_fitted()
        self._check_params()
        train_images, train_targets = self._check_fit_data(images, targets, "")
        validated = (self.history_, self.best_epoch_)
        self.refit_epochs_ = self.best_epoch_
        if self.refit_epochs_ > 0:
            if self._start_state is not None:
                self.network_.load_state_dict(self._start_state)
            self._train(train_images, train_targets, None, self.device_, epochs=self.best_epoch_)
        self.history_, self.best_epoch_ = validated
        return self

    def _train(
        self,
        images: NDArray[np.float32],
        targets: list[TargetTensors],
        validation: tuple[NDArray[np.float32], list[TargetTensors]] | None,
        device: torch.device,
        *,
        epochs: int,
    ) -> None:
        """Train for ``epochs``; from a fresh initialisation unless a start state is kept."""
        classes = self._check_params()
        with seeded(self.random_state, device):
            if self._start_state is None:
                self._init_network(classes)
            self.network_.to(device)
            self.device_ = device
            self.history_, self.best_epoch_ = train_detector(
                self.network_,
                images,
                targets,
                validation=validation,
                epochs=epochs,
                settings=self,
                device=device,
            )

    def predict(
        self, images: NDArray[np.floating], *, stability: bool = False
    ) -> list[ImageDetections]:
        """Detect objects, a batch at a time.

        With ``stability``, the detector also runs on a left-right mirrored
        copy (its boxes mirrored back) and on a copy with Gaussian noise of
        std 0.02 (seeded with ``random_state``). Each box is matched with the
        box of the same class that overlaps it most in each copy; its
        stability is the mean of those IoUs, an unmatched copy counting 0.
        This triples the cost.

        Args:
            images: Images in ``[0, 1]``, shape ``(n, channels, height, width)``.
            stability: If true, fill :attr:`ImageDetections.stability`.

        Returns:
            One :class:`ImageDetections` per image.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If the images do not have ``image_channels``.
        """
        array = self._check_predict_input(images)
        generator = torch.Generator().manual_seed(self.random_state)
        results: list[ImageDetections] = []
        with torch.inference_mode():
            for start in range(0, array.shape[0], self.inference_batch_size):
                batch = torch.from_numpy(array[start : start + self.inference_batch_size])
                results.extend(self._predict_batch(batch, stability, generator))
        return results

    def embed(self, images: NDArray[np.floating]) -> NDArray[np.float32]:
        """Pooled backbone features, for diversity strategies and drift.

        Args:
            images: Images, shape ``(n, channels, height, width)``.

        Returns:
            Features, shape ``(n, d)``: every pyramid level average-pooled and
            the levels concatenated (192 for ``"fcos_tiny"``, 1280 for
            ``"fcos_resnet50_fpn"``).

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If the images do not have ``image_channels``.
        """
        array = self._check_predict_input(images)
        network = self.network_
        out = map_batches(
            lambda batch: pooled_features(network, batch),
            array,
            width=embedding_dim(network),
            dtype=np.float32,
            batch_size=self.inference_batch_size,
            device=self.device_,
        )
        return cast(NDArray[np.float32], out)

    def save(self, path: Path) -> None:
        """Write the weights and the architecture they belong to.

        The file holds only tensors and plain values; :meth:`load` reads it
        with ``torch.load(weights_only=True)``.

        Args:
            path: File to write; it is replaced atomically if it exists.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
        """
        self._check_fitted()
        config = self._config(self._check_params())
        _CHECKPOINT.save(
            path, _CHECKPOINT.state(config=config, state_dict=weights_of(self.network_))
        )

    def load(self, path: Path) -> Self:
        """Restore weights written by :meth:`save`.

        Args:
            path: File written by :meth:`save`.

        Returns:
            The detector itself, fitted, on the device ``device`` picks.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            ModelFileNotFoundError: If ``path`` does not exist.
            ModelFileCorruptError: If the file is not a saved ``TorchDetector``.
            WeightsMismatchError: If it was saved for another architecture,
                other classes or another number of channels.
        """
        path = Path(path)
        classes = self._check_params()
        state = _CHECKPOINT.read(path)
        device = resolve_device(None if self.device == "auto" else self.device)
        with seeded(self.random_state, device):
            network = _CHECKPOINT.restore(
                state,
                path,
                expected=self._config(classes),
                build=lambda: build_fcos(self.architecture, len(classes), self.image_channels),
            )
        self.network_ = network.to(device).eval()
        self._built_for = self._config(classes)
        self.device_ = device
        self.history_ = []
        self.best_epoch_ = 0
        self.skipped_weights_ = []
        return self

    def _predict_batch(
        self, batch: Tensor, stability: bool, generator: torch.Generator
    ) -> list[ImageDetections]:
        detections = self._detect(batch)
        if not stability:
            return [self._to_numpy(d, None) for d in detections]
        width = batch.shape[-1]
        mirrored = self._detect(batch.flip(-1))
        noise = torch.randn(batch.shape, generator=generator) * _STABILITY_NOISE
        noisy = self._detect((batch + noise).clamp(0.0, 1.0))
        results = []
        for plain, flipped, noised in zip(detections, mirrored, noisy, strict=True):
            unflipped = mirror_boxes(flipped.boxes, width)
            flipped = RawDetections(unflipped, flipped.labels, flipped.scores, flipped.class_probs)
            ious = [matched_iou(plain.boxes, plain.labels, other) for other in (flipped, noised)]
            results.append(self._to_numpy(plain, torch.stack(ious).mean(dim=0)))
        return results

    def _detect(self, batch: Tensor) -> list[RawDetections]:
        return detect(
            self.network_,
            batch.to(self.device_),
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
            max_detections=self.max_detections,
        )

    @staticmethod
    def _to_numpy(raw: RawDetections, stability: Tensor | None) -> ImageDetections:
        return ImageDetections(
            boxes=xyxy_to_xywh(raw.boxes),
            labels=raw.labels.cpu().numpy().astype(np.int64),
            scores=raw.scores.cpu().numpy().astype(np.float32),
            class_probs=raw.class_probs.cpu().numpy().astype(np.float32),
            stability=None if stability is None else stability.cpu().numpy().astype(np.float32),
        )

    def _check_fit_data(
        self, images: NDArray[np.floating], targets: Sequence[BoxTargets], suffix: str
    ) -> tuple[NDArray[np.float32], list[TargetTensors]]:
        array = check_images(images, name=f"images{suffix}")
        self._check_channels(array, suffix)
        if array.shape[0] == 0:
            raise InvalidInputError(f"images{suffix} is empty; fit needs at least one image.")
        if len(targets) != array.shape[0]:
            raise InvalidInputError(
                f"targets{suffix} has {len(targets)} entries but there are {array.shape[0]} "
                "images; pass one BoxTargets per image (empty for an image without objects)."
            )
        return array, target_tensors(targets, self.classes, suffix)

    def _check_channels(self, array: NDArray[np.float32], suffix: str) -> None:
        if array.shape[1] != self.image_channels:
            raise InvalidInputError(
                f"images{suffix} have {array.shape[1]} channels but the detector was built "
                f"with image_channels={self.image_channels}; convert the images or change "
                "image_channels."
            )

    def _check_params(self) -> tuple[str, ...]:
        classes: tuple[str, ...] = self.check_params()["classes"]
        if self.architecture == "fcos_resnet50_fpn" and self.image_channels not in (1, 3):
            raise InvalidParameterError(
                f"image_channels must be 1 or 3 for fcos_resnet50_fpn; got "
                f"{self.image_channels!r}. Use architecture='fcos_tiny' for other channel counts."
            )
        return classes

    def _config(self, classes: tuple[str, ...]) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "classes": list(classes),
            "image_channels": int(self.image_channels),
        }

    def _fits_current_network(self, classes: tuple[str, ...]) -> bool:
        return self._built_for == self._config(classes) and hasattr(self, "network_")

    def _init_network(self, classes: tuple[str, ...]) -> None:
        network = build_fcos(self.architecture, len(classes), self.image_channels)
        self.skipped_weights_ = []
        if self.weights_path is not None:
            state = read_state_dict(Path(self.weights_path))
            own = network.state_dict()
            # A bare backbone's names ("conv1.weight") sit under "backbone.body." in FCOS.
            renamed = {
                (key if key in own else f"backbone.body.{key}"): value
                for key, value in state.items()
            }
            self.skipped_weights_ = load_matching_weights(network, renamed)
        self.network_ = network
        self._built_for = self._config(classes)

    def _check_fitted(self) -> None:
        check_fitted(self, "network_", fit_call="fit(images, targets)")

    def _check_predict_input(self, images: NDArray[np.floating]) -> NDArray[np.float32]:
        self._check_fitted()
        array = check_images(images, name="images")
        self._check_channels(array, "")
        return array


def _weights_copy(network: FCOS) -> dict[str, Tensor]:
    """The network's parameters and buffers, copied to the CPU, to train from again later."""
    return {key: value.clone() for key, value in weights_of(network).items()}
