"""Where a synthesized image came from: its source item, transform and parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.synthesis.errors import InvalidParamsError
from labelloop.synthesis.transforms import (
    Params,
    TransformName,
    apply_transform,
    check_params,
    check_transform_names,
)

__all__ = ["Provenance"]

_KEYS = frozenset({"source_item", "transform", "params"})


@dataclass(frozen=True)
class Provenance:
    """The record that lets anyone rebuild a synthesized image from its source.

    ``Provenance.from_dict(p.to_dict())`` equals ``p``, and :meth:`apply` on the
    source image gives the variant's exact pixels, also after a JSON round trip.

    Attributes:
        source_item: id of the image the variant was made from.
        transform: the transform's name.
        params: its recorded parameters (``int`` and ``float`` values).

    Raises:
        UnknownTransformError: ``transform`` is not a transform.
        InvalidParamsError: ``params`` does not fit the transform, or
            ``source_item`` is not an int.

    Example:
        >>> p = Provenance(7, "brightness", {"factor": 1.25})
        >>> p.to_dict()
        {'source_item': 7, 'transform': 'brightness', 'params': {'factor': 1.25}}
    """

    source_item: int
    transform: TransformName
    params: Params

    def __post_init__(self) -> None:
        if isinstance(self.source_item, bool) or not isinstance(self.source_item, int | np.integer):
            raise InvalidParamsError(
                f"source_item must be an int item id, got {self.source_item!r}"
            )
        check_transform_names([self.transform])
        object.__setattr__(self, "source_item", int(self.source_item))
        object.__setattr__(self, "params", check_params(self.transform, self.params))

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able ``{source_item, transform, params}``.

        Returns:
            A new dict; changing it leaves the record as it is.
        """
        return {
            "source_item": self.source_item,
            "transform": self.transform,
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Read a record written by :meth:`to_dict` (e.g. from the store's JSON column).

        Args:
            data: ``{"source_item": int, "transform": str, "params": {...}}``.

        Returns:
            The record.

        Raises:
            InvalidParamsError: a key is missing or extra, or a value is wrong.
            UnknownTransformError: the transform is not known.
        """
        if set(data) != _KEYS:
            raise InvalidParamsError(
                f"a provenance record has keys {sorted(_KEYS)}, got {sorted(data)}"
            )
        params = data["params"]
        if not isinstance(params, Mapping):
            raise InvalidParamsError(f"provenance params must be a mapping, got {params!r}")
        return cls(data["source_item"], data["transform"], dict(params))

    def apply(self, image: NDArray[np.floating]) -> NDArray[np.float32]:
        """Rebuild the variant from its source image.

        Args:
            image: ``(C, H, W)`` the source image in [0, 1].

        Returns:
            ``(C, H, W)`` float32, the variant's pixels.
        """
        return apply_transform(image, self.transform, self.params)
