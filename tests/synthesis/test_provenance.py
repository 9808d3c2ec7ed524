"""Provenance records survive JSON and rebuild the exact pixels."""

import json

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.synthesis import (
    TRANSFORM_NAMES,
    InvalidParamsError,
    Provenance,
    UnknownTransformError,
    apply_transform,
    sample_params,
)


@pytest.mark.parametrize("transform", TRANSFORM_NAMES)
def test_parameters_round_trip_through_json_and_give_identical_pixels(
    transform: str, batch: NDArray[np.float32]
) -> None:
    image = batch[0]
    params = sample_params(transform, np.random.default_rng(11), image.shape)
    record = Provenance(41, transform, params)  # type: ignore[arg-type]
    expected = apply_transform(image, transform, params)

    restored = Provenance.from_dict(json.loads(json.dumps(record.to_dict())))

    assert restored == record
    np.testing.assert_array_equal(restored.apply(image), expected)


def test_to_dict_has_exactly_the_three_fields_and_is_a_copy() -> None:
    record = Provenance(3, "rotation", {"angle": 12.5})
    data = record.to_dict()
    assert data == {"source_item": 3, "transform": "rotation", "params": {"angle": 12.5}}
    data["params"]["angle"] = 0.0
    assert record.params == {"angle": 12.5}


def test_numpy_values_are_stored_as_plain_python_numbers() -> None:
    record = Provenance(np.int64(5), "noise", {"sigma": np.float32(0.25), "seed": np.int64(9)})  # type: ignore[arg-type,dict-item]
    assert type(record.source_item) is int
    assert type(record.params["seed"]) is int
    assert type(record.params["sigma"]) is float
    json.dumps(record.to_dict())


def test_bad_records_are_rejected_with_the_reason() -> None:
    with pytest.raises(InvalidParamsError, match="has keys"):
        Provenance.from_dict({"source_item": 1, "transform": "blur"})
    with pytest.raises(InvalidParamsError, match="source_item must be an int"):
        Provenance.from_dict({"source_item": "a", "transform": "haze", "params": {}})
    with pytest.raises(InvalidParamsError, match="must be a mapping"):
        Provenance.from_dict({"source_item": 1, "transform": "haze", "params": [0.2, 0.9]})
    with pytest.raises(UnknownTransformError):
        Provenance.from_dict({"source_item": 1, "transform": "sepia", "params": {}})
    with pytest.raises(InvalidParamsError, match="must be a number"):
        Provenance(1, "brightness", {"factor": True})
