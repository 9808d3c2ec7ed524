"""Augmented variants of known images, each with the record that rebuilds it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from labelloop.synthesis.errors import SynthesisInputError
from labelloop.synthesis.provenance import Provenance
from labelloop.synthesis.transforms import (
    Params,
    TransformRanges,
    apply_transform_batch,
    check_images,
    check_transform_names,
    sample_params,
)

__all__ = ["generate_variants", "source_rows"]


def _check_source_ids(source_ids: Sequence[int], n: int) -> list[int]:
    ids = [int(i) for i in source_ids]
    if len(ids) != n:
        raise SynthesisInputError(f"got {n} images but {len(ids)} source ids; pass one per image")
    if len(set(ids)) != len(ids):
        raise SynthesisInputError("source_ids repeats an id; each image needs its own item id")
    return ids


def generate_variants(
    X: NDArray[np.floating],
    source_ids: Sequence[int],
    *,
    per_image: int,
    transforms: Sequence[str] | None = None,
    random_state: int | np.random.Generator | None = None,
    ranges: TransformRanges | None = None,
) -> tuple[NDArray[np.float32], list[Provenance]]:
    """Make ``per_image`` transformed copies of every image.

    Each image gets distinct transforms while ``per_image`` is at most the number
    of transforms, drawn at random; each transform's parameters are drawn from
    ``ranges``. Variants are grouped by transform and transformed batch-wise.

    Args:
        X: ``(n, C, H, W)`` source images in [0, 1]; C is 1 or 3, H and W at least 8.
        source_ids: ``n`` distinct item ids of the images, recorded in the provenance.
        per_image: variants per source image, at least 1.
        transforms: names to draw from (see
            :data:`~labelloop.synthesis.transforms.TRANSFORM_NAMES`); None for all.
        random_state: seed or generator; the same seed gives the same variants.
        ranges: where parameters are drawn from; None for the defaults.

    Returns:
        ``(n * per_image, C, H, W)`` float32 variants, source-major (the variants
        of image 0 first), and their provenance records in the same order.

    Raises:
        SynthesisInputError: the images, ids or ``per_image`` are wrong.
        UnknownTransformError: a transform name is not known.
    """
    images = check_images(X)
    ids = _check_source_ids(source_ids, len(images))
    if isinstance(per_image, bool) or not isinstance(per_image, int) or per_image < 1:
        raise SynthesisInputError(f"per_image must be an int >= 1, got {per_image!r}")
    names = check_transform_names(transforms)
    ranges = ranges or TransformRanges()
    rng = np.random.default_rng(random_state)
    shape = (images.shape[1], images.shape[2], images.shape[3])

    # Draw every choice first, in variant order, so the result depends only on the seed.
    picks = np.array(
        [rng.choice(len(names), size=per_image, replace=per_image > len(names)) for _ in ids],
        dtype=np.int64,
    ).reshape(-1)
    params: list[Params] = [sample_params(names[j], rng, shape, ranges) for j in picks]
    rows = np.repeat(np.arange(len(images)), per_image)

    out = np.empty((len(picks), *shape), dtype=np.float32)
    for j, name in enumerate(names):
        variants = np.flatnonzero(picks == j)
        if len(variants):
            out[variants] = apply_transform_batch(
                images[rows[variants]], name, [params[v] for v in variants]
            )
    provenance = [
        Provenance(ids[row], names[j], p) for row, j, p in zip(rows, picks, params, strict=True)
    ]
    return out, provenance


def source_rows(provenance: Sequence[Provenance], source_ids: Sequence[int]) -> NDArray[np.int64]:
    """Position of each variant's source among ``source_ids``.

    Use it to line up the variants' probabilities with their sources' for
    :func:`~labelloop.synthesis.selection.select_queries`.

    Args:
        provenance: ``m`` records.
        source_ids: the ids of the source images, in the order of their rows.

    Returns:
        ``(m,)`` int64 row of each record's source.

    Raises:
        SynthesisInputError: a record's source is not among ``source_ids``, or an id repeats.
    """
    ids = [int(i) for i in source_ids]
    where = {item: row for row, item in enumerate(ids)}
    if len(where) != len(ids):
        raise SynthesisInputError("source_ids repeats an id; each row needs its own item id")
    try:
        return np.array([where[p.source_item] for p in provenance], dtype=np.int64)
    except KeyError as missing:
        raise SynthesisInputError(
            f"source item {missing.args[0]} is not among source_ids; pass the ids of every "
            "image the variants were made from"
        ) from None
