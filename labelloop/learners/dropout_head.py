"""The ``"mlp_dropout"`` head of embed mode: a small torch MLP whose samples are MC dropout.

:class:`~labelloop.learners.embedding.EmbeddingClassifier` trains a light
head per round on cached embeddings. Its scikit-learn heads give
``predict_samples`` from bagged bootstrap clones; this head gives them the way
a Bayesian strategy (BALD, say) expects of a network: Monte Carlo dropout
passes (:mod:`~labelloop.learners.mc_dropout`) over one hidden layer. The
network is a :class:`~labelloop.learners.networks.FeatureClassifier`
(standardise, linear, ReLU as the features; dropout; a linear head), so the
project's training loop (:func:`~labelloop.learners.training.train`) fits it
and the classifier's batched passes predict with it; the hidden layer is
computed once per batch however many passes are drawn. It trains on the CPU:
a few thousand 512-d embeddings take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from labelloop.learners._validation import (
    N_CLASSES,
    check_fit_data,
    check_fitted,
    check_images,
    check_n_samples,
)
from labelloop.learners.augment import AugmentName
from labelloop.learners.base import Images, Labels
from labelloop.learners.classifier_network import batched_probabilities, batched_samples
from labelloop.learners.errors import InvalidParameterError
from labelloop.learners.networks import FeatureClassifier
from labelloop.learners.training import EpochStats, seeded, train
from labelloop.plugins import Configurable, Constraint, Integer, Number

__all__ = ["DropoutMLP", "DropoutMLPHead"]

_CPU = torch.device("cpu")
# Features that do not vary over the labeled set are centred, not divided by ~0.
_MIN_SCALE = 1e-6
# Vectors per batch when predicting: a 4096 x 256 hidden layer is 4 MB.
_INFERENCE_BATCH = 4096


class DropoutMLP(FeatureClassifier):
    """Standardise, ``Linear`` and ReLU (the features), then dropout and a linear head.

    Args:
        mean: Per-feature mean of the training vectors, shape ``(d,)``.
        scale: Per-feature standard deviation (at least :data:`_MIN_SCALE`), shape ``(d,)``.
        hidden: Units of the hidden layer (the embedding it gives).
        n_classes: Number of output logits.
        dropout: Dropout probability before the head.
    """

    mean: Tensor
    scale: Tensor

    def __init__(
        self,
        mean: NDArray[np.float32],
        scale: NDArray[np.float32],
        *,
        hidden: int,
        n_classes: int,
        dropout: float,
    ) -> None:
        super().__init__(hidden, n_classes, dropout)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.hidden = nn.Linear(int(mean.shape[0]), hidden)

    def features(self, x: Tensor) -> Tensor:
        """The hidden layer's activations of vectors ``(n, d)`` (or ``(n, d, 1, 1)``)."""
        return torch.relu(self.hidden((x.flatten(1) - self.mean) / self.scale))


@dataclass(eq=False, repr=False, kw_only=True)
class DropoutMLPHead(Configurable):
    """A one-hidden-layer MLP with dropout, fitted on embeddings; samples are MC dropout.

    :meth:`fit` standardises the vectors with their own mean and standard
    deviation, then trains with AdamW for ``epochs`` epochs (at least
    ``min_steps`` steps) on the CPU, seeded with ``random_state``: the same
    vectors give the same head. :meth:`predict_proba` is the deterministic
    pass (dropout off); :meth:`predict_samples` draws ``n_samples`` passes
    with dropout on, seeded as well, whose mean approaches it.

    Args:
        n_classes: Number of classes; labels lie in ``[0, n_classes)``.
        hidden: Units of the hidden layer.
        dropout: Dropout probability on the hidden layer, in training and in
            :meth:`predict_samples`.
        epochs: Epochs per fit.
        batch_size: Largest mini-batch; at least 2.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        min_steps: Fewest optimiser steps of a fit (a small labeled set runs
            more epochs to reach them).
        random_state: Seeds initialisation, shuffling and the dropout masks.

    Attributes:
        network_: The trained network, in eval mode, on the CPU.
        n_features_: Length of the vectors seen in :meth:`fit`.
        history_: Stats of each epoch of the last fit.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "batch_size": Integer(low=2),
        "dropout": Number(low=0.0, high=1.0, high_open=True),
        "epochs": Integer(low=1),
        "hidden": Integer(low=1),
        "lr": Number(low=0.0, low_open=True),
        "min_steps": Integer(low=0),
        "n_classes": N_CLASSES,
        "random_state": Integer(low=0),
        "weight_decay": Number(low=0.0),
    }
    parameter_error = InvalidParameterError

    n_classes: int
    hidden: int = 256
    dropout: float = 0.5
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    min_steps: int = 200
    random_state: int = 0

    # The rest of what the training loop reads (FitSettings), fixed for a head.
    min_epoch_samples: int = field(init=False, default=0, repr=False)
    patience: int = field(init=False, default=1, repr=False)  # no validation: never stops early
    early_stopping_min_val: int = field(init=False, default=1, repr=False)
    inference_batch_size: int = field(init=False, default=_INFERENCE_BATCH, repr=False)
    augment: AugmentName = field(init=False, default="none", repr=False)

    network_: DropoutMLP = field(init=False)
    n_features_: int = field(init=False)
    history_: list[EpochStats] = field(init=False)

    def fit(self, X: Images, y: Labels) -> Self:
        """Train the MLP on vectors.

        Args:
            X: Vectors, shape ``(n, d, 1, 1)`` (the shape
                :class:`~labelloop.learners.embedding.EmbeddingClassifier`
                hands its heads).
            y: Class indices, shape ``(n,)``.

        Returns:
            The fitted head itself.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            InvalidInputError: If ``X`` or ``y`` is malformed.
        """
        checked = self.check_params()
        images, labels = check_fit_data(X, y, n_classes=checked["n_classes"])
        vectors = np.ascontiguousarray(images.reshape(images.shape[0], -1))
        scale = np.maximum(vectors.std(axis=0), _MIN_SCALE)
        with seeded(checked["random_state"], _CPU):
            network = DropoutMLP(
                vectors.mean(axis=0),
                scale,
                hidden=checked["hidden"],
                n_classes=checked["n_classes"],
                dropout=checked["dropout"],
            )
            self.history_, _ = train(
                network,
                vectors,
                labels,
                validation=None,
                epochs=checked["epochs"],
                settings=self,
                device=_CPU,
            )
        self.network_ = network.eval()
        self.n_features_ = vectors.shape[1]
        return self

    def predict_proba(self, X: Images) -> NDArray[np.float64]:
        """Class probabilities of the deterministic pass (dropout off).

        Args:
            X: Vectors, shape ``(n, d, 1, 1)``.

        Returns:
            Probabilities, shape ``(n, n_classes)``; rows sum to 1.

        Raises:
            NotFittedError: If called before :meth:`fit`.
            InvalidInputError: If ``X`` does not hold vectors of the fitted length.
        """
        vectors = self._vectors(X)
        return batched_probabilities(
            self.network_, vectors, 1.0, batch_size=_INFERENCE_BATCH, device=_CPU
        )

    def predict_samples(self, X: Images, n_samples: int = 20) -> NDArray[np.float64]:
        """Monte Carlo dropout: probabilities of passes with the hidden layer's dropout on.

        The masks are seeded with ``random_state``, so the same call gives
        the same samples.

        Args:
            X: Vectors, shape ``(n, d, 1, 1)``.
            n_samples: Number of passes, at least 1.

        Returns:
            Probabilities, shape ``(n_samples, n, n_classes)``; rows sum to 1.

        Raises:
            NotFittedError: If called before :meth:`fit`.
            InvalidInputError: If ``X`` does not hold vectors of the fitted length.
            InvalidParameterError: If ``n_samples`` is not a positive int.
        """
        vectors = self._vectors(X)
        return batched_samples(
            self.network_,
            vectors,
            check_n_samples(n_samples),
            1.0,
            batch_size=_INFERENCE_BATCH,
            device=_CPU,
            seed=self.random_state,
        )

    def _vectors(self, X: Images) -> NDArray[np.float32]:
        check_fitted(self, "network_", loadable=False)
        images = check_images(X, input_shape=(self.n_features_, 1, 1))
        return np.ascontiguousarray(images.reshape(images.shape[0], -1))
