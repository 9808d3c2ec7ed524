"""SynthesisConfig: defaults that work, and loud errors for settings that cannot."""

from typing import Any

import pytest
from pydantic import ValidationError

from labelloop.synthesis import TRANSFORM_NAMES, SynthesisConfig, TransformRanges


def test_defaults_are_valid_and_off() -> None:
    config = SynthesisConfig()
    assert config.enabled is False
    assert config.transforms == TRANSFORM_NAMES
    assert config.mode == "both"
    assert config.strategy == "margin"
    assert config.max_per_source == 1
    assert config.ranges == TransformRanges()


def test_round_trips_through_json() -> None:
    config = SynthesisConfig(
        enabled=True,
        per_image=2,
        transforms=("haze", "rotation"),
        k=5,
        mode="flip",
        ranges=TransformRanges(rotation=(-10.0, 10.0)),
    )
    assert SynthesisConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"per_image": 0}, "per_image"),
        ({"k": 0}, "k"),
        ({"transforms": ("sepia",)}, "transforms"),
        ({"transforms": ()}, "transforms is empty"),
        ({"transforms": ("blur", "blur")}, "repeats a name"),
        ({"mode": "surprise"}, "mode"),
        ({"strategy": "bald"}, "strategy"),
        ({"max_per_source": 0}, "max_per_source"),
        ({"k": 50, "max_sources": 10, "per_image": 4}, "exceeds the variants"),
        ({"ranges": {"blur_sigma": (2.0, 1.0)}}, "low <= high"),
        ({"per_imag": 3}, "per_imag"),
    ],
)
def test_invalid_settings_fail_with_the_field_named(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SynthesisConfig(**settings)


def test_is_frozen() -> None:
    with pytest.raises(ValidationError):
        SynthesisConfig().k = 4  # type: ignore[misc]
