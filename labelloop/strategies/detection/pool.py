"""The detector's outputs on a pool of images, checked, as the detection strategies read them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kernels import outside_unit_interval
from labelloop.strategies.errors import PoolShapeError

__all__ = ["DetectionPool", "check_box_probs", "check_unit_vector"]

_FloatArray = NDArray[np.floating[Any]]


def check_box_probs(field: str, value: object) -> _FloatArray:
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        shape = value.shape if isinstance(value, np.ndarray) else type(value).__name__
        raise PoolShapeError(
            f"{field} must be a 2-D array (m, n_classes), one row per box; got {shape}. "
            "An image without boxes is np.zeros((0, n_classes))."
        )
    if not np.issubdtype(value.dtype, np.floating):
        raise PoolShapeError(f"{field} must hold floats; got dtype {value.dtype}.")
    if value.size and not np.isfinite(value).all():
        raise PoolShapeError(
            f"{field} contains NaN or infinite values; pass each box's class distribution."
        )
    return value


def check_unit_vector(field: str, value: object) -> NDArray[np.float64]:
    values = np.asarray(value, dtype=np.float64)
    if values.ndim != 1:
        raise PoolShapeError(f"{field} must be 1-D (m,), one value per box; got {values.shape}.")
    outside = outside_unit_interval(values)
    if outside is not None:
        raise PoolShapeError(
            f"{field} must lie in [0, 1] with no NaN; got values in [{outside[0]}, {outside[1]}]."
        )
    return values


@dataclass(frozen=True, eq=False)
class DetectionPool:
    """A detector's outputs on ``n`` images, one entry per image, for the strategies.

    Arrays are kept as given, not copied.

    Attributes:
        class_probs: ``n`` arrays of shape ``(m_i, K)``: each box's class
            distribution; ``(0, K)`` for an image without boxes.
        scores: ``n`` arrays of shape ``(m_i,)``: each box's confidence in
            ``[0, 1]``, or ``None`` to count every box as a detection.
        stability: ``n`` arrays of shape ``(m_i,)``: each box's localization
            stability in ``[0, 1]``, or ``None``.
        embeddings: ``(n, d)`` one feature vector per image, or ``None``.
        labeled: ``(n,)`` True for images that already have a label; they are
            never selected, and core-set uses them as centers. ``None``: none.

    Raises:
        PoolShapeError: If an array has the wrong shape, dtype or values, or
            the per-image sequences disagree in length or box counts.
    """

    class_probs: Sequence[_FloatArray]
    scores: Sequence[_FloatArray] | None = None
    stability: Sequence[_FloatArray] | None = None
    embeddings: _FloatArray | None = None
    labeled: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        """Validate every array against ``class_probs``."""
        n = len(self.class_probs)
        widths = {
            check_box_probs(f"class_probs[{i}]", p).shape[1] for i, p in enumerate(self.class_probs)
        }
        if len(widths) > 1:
            raise PoolShapeError(
                f"every class_probs array needs the same number of classes; got {sorted(widths)}."
            )
        for field in ("scores", "stability"):
            values = getattr(self, field)
            if values is None:
                continue
            if len(values) != n:
                raise PoolShapeError(
                    f"DetectionPool.{field} has {len(values)} entries for {n} images; pass "
                    "one array per image."
                )
            for i, (probs, array) in enumerate(zip(self.class_probs, values, strict=True)):
                checked = check_unit_vector(f"{field}[{i}]", array)
                if checked.shape[0] != probs.shape[0]:
                    raise PoolShapeError(
                        f"{field}[{i}] has {checked.shape[0]} values but class_probs[{i}] has "
                        f"{probs.shape[0]} boxes; pass one value per box."
                    )
        self._check_embeddings(n)
        labeled: object = self.labeled
        if labeled is not None and (
            not isinstance(labeled, np.ndarray)
            or labeled.dtype != np.bool_
            or labeled.shape != (n,)
        ):
            raise PoolShapeError(
                f"DetectionPool.labeled must be a boolean array of shape ({n},) or None."
            )

    def _check_embeddings(self, n: int) -> None:
        embeddings = self.embeddings
        if embeddings is None:
            return
        if (
            not isinstance(embeddings, np.ndarray)
            or embeddings.ndim != 2
            or embeddings.shape[0] != n
            or not np.issubdtype(embeddings.dtype, np.floating)
        ):
            raise PoolShapeError(
                f"DetectionPool.embeddings must be a float array of shape ({n}, d); pass the "
                "detector's embed() output for the same images."
            )
        if embeddings.size and not np.isfinite(embeddings).all():
            raise PoolShapeError("DetectionPool.embeddings contains NaN or infinite values.")

    @property
    def n(self) -> int:
        """Number of images."""
        return len(self.class_probs)

    def unlabeled_mask(self) -> NDArray[np.bool_]:
        """``(n,)`` True for images that may be selected."""
        if self.labeled is None:
            return np.ones(self.n, dtype=bool)
        return ~self.labeled
