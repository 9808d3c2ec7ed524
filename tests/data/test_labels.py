"""Tests of labelloop.data.labels: label schema and label values."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from labelloop.data.labels import Box, InvalidLabelError, LabelSchema, UnknownClassError

CLASSIFY = LabelSchema(task="classification", classes=("cat", "dog"))
DETECT = LabelSchema(task="detection", classes=("car", "person"))


@pytest.mark.parametrize(
    ("classes", "words"),
    [
        ((), "at least one class"),
        (("cat", ""), "empty or blank"),
        (("cat", "  "), "empty or blank"),
        (("cat", " dog"), "surrounding whitespace"),
        (("cat", "dog", "cat"), "unique"),
    ],
)
def test_schema_refuses_bad_classes(classes: tuple[str, ...], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        LabelSchema(task="classification", classes=classes)


def test_schema_refuses_unknown_task() -> None:
    with pytest.raises(ValidationError, match="classification"):
        LabelSchema(task="segmentation", classes=("a",))


def test_schema_accepts_a_list_and_is_frozen() -> None:
    schema = LabelSchema.model_validate({"task": "detection", "classes": ["car", "person"]})

    assert schema == DETECT
    with pytest.raises(ValidationError):
        schema.task = "classification"  # type: ignore[misc]


def test_class_index() -> None:
    assert CLASSIFY.class_index("cat") == 0
    assert CLASSIFY.class_index("dog") == 1
    with pytest.raises(UnknownClassError, match="'bird'"):
        CLASSIFY.class_index("bird")


def test_classification_value() -> None:
    assert CLASSIFY.validate_value("dog") == "dog"


def test_unknown_class_names_it_and_lists_allowed() -> None:
    with pytest.raises(UnknownClassError) as exc_info:
        CLASSIFY.validate_value("bird")

    message = str(exc_info.value)
    assert "'bird'" in message
    assert "'cat', 'dog'" in message
    assert exc_info.value.name == "bird"
    assert exc_info.value.allowed == ("cat", "dog")
    assert isinstance(exc_info.value, ValueError)
    restored = pickle.loads(pickle.dumps(exc_info.value))
    assert str(restored) == message


@pytest.mark.parametrize("value", [3, None, ["cat"], {"label": "cat"}])
def test_classification_wrong_type(value: object) -> None:
    with pytest.raises(InvalidLabelError, match="one class name") as exc_info:
        CLASSIFY.validate_value(value)

    assert not isinstance(exc_info.value, UnknownClassError)


def test_detection_empty_list_means_no_objects() -> None:
    assert DETECT.validate_value([]) == []


def test_detection_canonical_form() -> None:
    value = [
        {"label": "car", "height": 4, "width": 3, "y": 2, "x": 1},
        Box(x=0.5, y=0, width=1.5, height=2, label="person"),
    ]

    canonical = DETECT.validate_value(value)

    assert canonical == [
        {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0, "label": "car"},
        {"x": 0.5, "y": 0.0, "width": 1.5, "height": 2.0, "label": "person"},
    ]
    assert isinstance(canonical, list)
    assert list(canonical[0]) == ["x", "y", "width", "height", "label"]
    assert all(isinstance(canonical[0][key], float) for key in ("x", "y", "width", "height"))


def test_detection_unknown_class() -> None:
    box = {"x": 0, "y": 0, "width": 1, "height": 1, "label": "tree"}

    with pytest.raises(UnknownClassError, match=r"'tree'.*'car', 'person'"):
        DETECT.validate_value([box])


GOOD_BOX: dict[str, object] = {"x": 0, "y": 0, "width": 1, "height": 1, "label": "car"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"x": -1}, "x: Input should be greater than or equal to 0"),
        ({"y": -0.5}, "y: Input should be greater than or equal to 0"),
        ({"width": 0}, "width: Input should be greater than 0"),
        ({"height": -2}, "height: Input should be greater than 0"),
        ({"x": True}, "x: Input should be a valid number"),
        ({"x": "3"}, "x: Input should be a valid number"),
        ({"width": float("nan")}, "width: Input should be a finite number"),
        ({"label": None}, "label: Input should be a valid string"),
        ({"w": 3}, "w: Extra inputs are not permitted"),
    ],
)
def test_detection_malformed_box(changes: dict[str, object], words: str) -> None:
    box = GOOD_BOX | changes

    with pytest.raises(InvalidLabelError, match="Box 1 is invalid") as exc_info:
        DETECT.validate_value([GOOD_BOX, box])

    assert words in str(exc_info.value)


def test_detection_missing_field() -> None:
    box = {key: value for key, value in GOOD_BOX.items() if key != "height"}

    with pytest.raises(InvalidLabelError, match="height: Field required"):
        DETECT.validate_value([box])


@pytest.mark.parametrize("value", ["car", GOOD_BOX, None, 3])
def test_detection_value_must_be_a_list(value: object) -> None:
    with pytest.raises(InvalidLabelError, match="list of boxes"):
        DETECT.validate_value(value)


def test_detection_box_must_be_a_dict_or_box() -> None:
    with pytest.raises(InvalidLabelError, match="Box 0 must be a Box or a dict"):
        DETECT.validate_value([[0, 0, 1, 1, "car"]])
