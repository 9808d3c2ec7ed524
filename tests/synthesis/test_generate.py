"""Generating variants: shapes, determinism under a seed, and faithful provenance."""

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.synthesis import (
    TRANSFORM_NAMES,
    SynthesisInputError,
    TransformRanges,
    UnknownTransformError,
    generate_variants,
    source_rows,
)


def test_shapes_dtype_and_source_major_order(batch: NDArray[np.float32]) -> None:
    ids = [100, 101, 102, 103, 104, 105]
    X, provenance = generate_variants(batch, ids, per_image=3, random_state=0)
    assert X.shape == (18, 1, 8, 8)
    assert X.dtype == np.float32
    assert [p.source_item for p in provenance] == [i for i in ids for _ in range(3)]
    assert X.min() >= 0.0
    assert X.max() <= 1.0


def test_three_channel_non_square_images() -> None:
    X = np.random.default_rng(1).random((4, 3, 12, 10)).astype(np.float32)
    variants, provenance = generate_variants(X, range(4), per_image=7, random_state=2)
    assert variants.shape == (28, 3, 12, 10)
    for variant, record in zip(variants, provenance, strict=True):
        np.testing.assert_array_equal(record.apply(X[record.source_item]), variant)


def test_the_same_seed_gives_the_same_variants(batch: NDArray[np.float32]) -> None:
    first = generate_variants(batch, range(6), per_image=4, random_state=7)
    again = generate_variants(batch, range(6), per_image=4, random_state=7)
    other = generate_variants(batch, range(6), per_image=4, random_state=8)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert first[1] != other[1]
    assert not np.array_equal(first[0], other[0])


def test_every_variant_is_rebuilt_exactly_from_its_record(batch: NDArray[np.float32]) -> None:
    X, provenance = generate_variants(batch, range(6), per_image=7, random_state=3)
    assert {p.transform for p in provenance} == set(TRANSFORM_NAMES)
    for variant, record in zip(X, provenance, strict=True):
        np.testing.assert_array_equal(record.apply(batch[record.source_item]), variant)


def test_each_image_gets_distinct_transforms_while_there_are_enough(
    batch: NDArray[np.float32],
) -> None:
    _, provenance = generate_variants(batch, range(6), per_image=7, random_state=4)
    for start in range(0, len(provenance), 7):
        assert {p.transform for p in provenance[start : start + 7]} == set(TRANSFORM_NAMES)


def test_only_the_named_transforms_are_used(batch: NDArray[np.float32]) -> None:
    _, provenance = generate_variants(
        batch, range(6), per_image=5, transforms=["haze", "blur"], random_state=0
    )
    assert {p.transform for p in provenance} == {"blur", "haze"}


def test_ranges_reach_the_sampled_parameters(batch: NDArray[np.float32]) -> None:
    ranges = TransformRanges(brightness=(1.4, 1.4))
    _, provenance = generate_variants(
        batch, range(6), per_image=2, transforms=["brightness"], random_state=0, ranges=ranges
    )
    assert {p.params["factor"] for p in provenance} == {1.4}


def test_no_images_give_no_variants() -> None:
    X, provenance = generate_variants(
        np.zeros((0, 1, 8, 8), dtype=np.float32), [], per_image=3, random_state=0
    )
    assert X.shape == (0, 1, 8, 8)
    assert provenance == []


def test_bad_arguments_are_rejected(batch: NDArray[np.float32]) -> None:
    with pytest.raises(SynthesisInputError, match="one per image"):
        generate_variants(batch, range(5), per_image=1)
    with pytest.raises(SynthesisInputError, match="repeats an id"):
        generate_variants(batch, [1, 1, 2, 3, 4, 5], per_image=1)
    with pytest.raises(SynthesisInputError, match="per_image"):
        generate_variants(batch, range(6), per_image=0)
    with pytest.raises(SynthesisInputError, match="is empty"):
        generate_variants(batch, range(6), per_image=1, transforms=[])
    with pytest.raises(SynthesisInputError, match="the string"):
        generate_variants(batch, range(6), per_image=1, transforms="blur")
    with pytest.raises(UnknownTransformError):
        generate_variants(batch, range(6), per_image=1, transforms=["sepia"])
    with pytest.raises(SynthesisInputError, match="at least 8x8"):
        generate_variants(batch[:, :, :6, :6], range(6), per_image=1)


def test_source_rows_line_variants_up_with_their_sources(batch: NDArray[np.float32]) -> None:
    _, provenance = generate_variants(batch[:3], [30, 10, 20], per_image=2, random_state=0)
    np.testing.assert_array_equal(source_rows(provenance, [10, 20, 30]), [2, 2, 0, 0, 1, 1])
    with pytest.raises(SynthesisInputError, match="source item 30"):
        source_rows(provenance, [10, 20])
