"""Monte Carlo dropout: stochastic forward passes with dropout on and batch-norm frozen.

Each pass keeps every dropout layer in training mode and every other layer in
eval mode, so batch-norm uses its running statistics and the passes differ only
by their dropout masks. When the only dropout of a
:class:`~labelloop.learners.networks.FeatureClassifier` is the one right before
its linear head, the features do not depend on the masks: they are computed
once per batch and only the dropout and the head are run again for each pass,
which makes many passes cost little more than one.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from labelloop.learners._validation import check_n_samples
from labelloop.learners.errors import InvalidParameterError
from labelloop.learners.networks import FeatureClassifier
from labelloop.learners.training import seeded
from labelloop.plugins import Integer

__all__ = ["DROPOUT_TYPES", "features_reusable", "mc_dropout_logits"]

DROPOUT_TYPES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
"""Layers that MC dropout switches to training mode."""


def features_reusable(network: FeatureClassifier) -> bool:
    """Whether the dropout masks leave ``network.features`` unchanged.

    True when ``forward`` is :class:`FeatureClassifier`'s own (``head`` after
    ``dropout`` after ``features``) and no dropout layer sits inside the
    features, so one feature pass serves every stochastic pass.

    Args:
        network: The network.

    Returns:
        True if the features may be computed once per batch.
    """
    if type(network).forward is not FeatureClassifier.forward:
        return False
    dropouts = [m for m in network.modules() if isinstance(m, DROPOUT_TYPES)]
    return len(dropouts) == 1 and dropouts[0] is network.dropout


@contextmanager
def _dropout_only(network: nn.Module) -> Iterator[None]:
    """Put the dropout layers in training mode and the rest in eval mode, then restore."""
    modes = [(module, module.training) for module in network.modules()]
    try:
        for module, _ in modes:
            module.training = isinstance(module, DROPOUT_TYPES)
        yield
    finally:
        for module, mode in modes:
            module.training = mode


def _passes_reusing_features(
    network: FeatureClassifier, batch: Tensor, n_samples: int
) -> list[Tensor]:
    features = network.features(batch)
    return [network.head(network.dropout(features)) for _ in range(n_samples)]


def _full_passes(network: FeatureClassifier, batch: Tensor, n_samples: int) -> list[Tensor]:
    return [network(batch) for _ in range(n_samples)]


def mc_dropout_logits(
    network: FeatureClassifier,
    images: NDArray[np.float32],
    n_samples: int,
    *,
    batch_size: int,
    device: torch.device,
    seed: int,
    reuse_features: bool | None = None,
) -> NDArray[np.float32]:
    """Logits of ``n_samples`` stochastic passes with dropout on.

    Batch-norm and every other layer stay in eval mode; the network's modes are
    the same afterwards as before. Masks are drawn from torch's generators
    seeded with ``seed`` inside :func:`~labelloop.learners.training.seeded`, so
    the same call gives the same logits, and the caller's random state is left
    as it was. Both ways of computing draw the same masks in the same order
    (for each batch, pass after pass), so they agree; the masks, and so the
    logits, depend on ``batch_size``.

    Args:
        network: The trained network, on ``device``.
        images: Images, shape ``(n, C, H, W)``, on the host.
        n_samples: Number of stochastic passes, at least 1.
        batch_size: Images per batch on the device.
        device: Device the network lives on.
        seed: Seeds the dropout masks.
        reuse_features: ``True`` computes the features once per batch and
            resamples only dropout and head; ``False`` runs the whole network
            for every pass; ``None`` picks ``True`` when
            :func:`features_reusable` allows it.

    Returns:
        Logits, shape ``(n_samples, n, n_classes)``.

    Raises:
        InvalidParameterError: If ``n_samples`` or ``batch_size`` is not a
            positive int, or ``reuse_features=True`` is asked of a network
            whose features contain dropout or whose ``forward`` is its own.
    """
    n_samples = check_n_samples(n_samples)
    batch_size = Integer(low=1).check("batch_size", batch_size, InvalidParameterError)
    reusable = features_reusable(network)
    if reuse_features is None:
        reuse_features = reusable
    elif reuse_features and not reusable:
        raise InvalidParameterError(
            f"reuse_features=True needs dropout only right before the head, but "
            f"{type(network).__name__} has dropout in its features or its own forward; "
            "pass reuse_features=None or False."
        )
    passes = _passes_reusing_features if reuse_features else _full_passes
    out = np.empty((n_samples, images.shape[0], network.head.out_features), dtype=np.float32)
    with seeded(seed, device), _dropout_only(network), torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            batch = torch.from_numpy(images[start : start + batch_size]).to(device)
            logits = torch.stack(passes(network, batch, n_samples))
            out[:, start : start + batch.shape[0]] = logits.float().cpu().numpy()
    return out
