"""Label Studio's shapes <-> labelloop's: label configs, results, digests (recorded payloads)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from labelloop.data.labels import LabelSchema
from labelloop.loop.labelstudio import (
    LabelStudioError,
    annotation_digest,
    parse_label_config,
    results_to_value,
    value_to_results,
)

PAYLOADS = Path(__file__).parent / "payloads"


def recorded(task: str) -> dict[str, object]:
    """Bodies Label Studio 1.23.2 sent to a backend, keyed by call or webhook action."""
    data: dict[str, object] = json.loads((PAYLOADS / f"{task}.json").read_text())
    return data


def test_recorded_configs_parse() -> None:
    cls = parse_label_config(recorded("classification")["setup"]["schema"])  # type: ignore[index]
    assert (cls.task, cls.from_name, cls.to_name, cls.data_key) == (
        "classification",
        "choice",
        "image",
        "image",
    )
    assert cls.classes == ("a", "b")
    det = parse_label_config(recorded("detection")["setup"]["schema"])  # type: ignore[index]
    assert (det.task, det.from_name, det.classes) == ("detection", "label", ("cat", "dog"))


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("", "empty"),
        ("<View><Image name='i' value='$i'/>", "well-formed"),
        ("<View><Choices name='c' toName='i'><Choice value='a'/></Choices></View>", "no <Image>"),
        (
            "<View><Image name='i' value='$i'/><Choices name='c' toName='i'><Choice value='a'/>"
            "</Choices><RectangleLabels name='r' toName='i'><Label value='a'/></RectangleLabels>"
            "</View>",
            "exactly one",
        ),
        (
            "<View><Image name='i' value='$i'/><Choices name='c' toName='x'><Choice value='a'/>"
            "</Choices></View>",
            "does not name an <Image>",
        ),
        ("<!DOCTYPE x [<!ENTITY a 'b'>]><View/>", "DOCTYPE"),
        ("<View><Image name='i' value='$i'/><Choices name='c' toName='i'/></View>", "children"),
    ],
)
def test_bad_configs_say_why(xml: str, message: str) -> None:
    with pytest.raises(LabelStudioError, match=message):
        parse_label_config(xml)


def test_config_checked_against_the_project() -> None:
    config = parse_label_config(recorded("classification")["setup"]["schema"])  # type: ignore[index]
    config.check(LabelSchema(task="classification", classes=("b", "a")))  # order is free
    with pytest.raises(LabelStudioError, match=r"missing in Label Studio: c.*unknown.*: b"):
        config.check(LabelSchema(task="classification", classes=("a", "c")))
    with pytest.raises(LabelStudioError, match="RectangleLabels"):
        config.check(LabelSchema(task="detection", classes=("a", "b")))


def test_recorded_annotations_become_values() -> None:
    cls = recorded("classification")
    config = parse_label_config(cls["setup"]["schema"])  # type: ignore[index]
    created = cls["ANNOTATION_CREATED"]["annotation"]  # type: ignore[index]
    updated = cls["ANNOTATION_UPDATED"]["annotation"]  # type: ignore[index]
    assert results_to_value(created["result"], config, 20, 20) == "a"
    assert results_to_value(updated["result"], config, 20, 20) == "b"
    assert annotation_digest(created) != annotation_digest(updated)
    assert annotation_digest(created) == annotation_digest(json.loads(json.dumps(created)))

    det = recorded("detection")
    config = parse_label_config(det["setup"]["schema"])  # type: ignore[index]
    box = results_to_value(
        det["ANNOTATION_CREATED"]["annotation"]["result"],  # type: ignore[index]
        config,
        300,
        200,
    )
    assert box == [{"x": 30.0, "y": 40.0, "width": 90.0, "height": 50.0, "label": "dog"}]


def test_percent_boxes_round_trip_within_a_millionth_of_a_pixel() -> None:
    config = parse_label_config(recorded("detection")["setup"]["schema"])  # type: ignore[index]
    rng = random.Random(7)
    for _ in range(500):
        width, height = rng.randint(1, 5000), rng.randint(1, 5000)
        x, y = rng.uniform(0, width - 0.5), rng.uniform(0, height - 0.5)
        box = {
            "x": x,
            "y": y,
            "width": rng.uniform(0.01, width - x),
            "height": rng.uniform(0.01, height - y),
            "label": rng.choice(["cat", "dog"]),
        }
        results = value_to_results([box], config, width, height)
        assert results[0]["original_width"] == width
        back = results_to_value(results, config, width, height)
        assert isinstance(back, list) and back[0]["label"] == box["label"]
        for key in ("x", "y", "width", "height"):
            assert abs(float(back[0][key]) - float(box[key])) < 1e-6  # type: ignore[arg-type]


def test_results_that_cannot_be_labels() -> None:
    det = parse_label_config(recorded("detection")["setup"]["schema"])  # type: ignore[index]
    rotated = value_to_results(
        [{"x": 1, "y": 1, "width": 5, "height": 5, "label": "cat"}], det, 100, 100
    )
    rotated[0]["value"]["rotation"] = 30  # type: ignore[index]
    with pytest.raises(LabelStudioError, match="rotated"):
        results_to_value(rotated, det, 100, 100)
    cls = parse_label_config(recorded("classification")["setup"]["schema"])  # type: ignore[index]
    two = [{"from_name": "choice", "type": "choices", "value": {"choices": ["a", "b"]}}]
    with pytest.raises(LabelStudioError, match="one class"):
        results_to_value(two, cls, 10, 10)
    # Results of another control are not this project's label; no choice is no label.
    other = [{"from_name": "mood", "type": "choices", "value": {"choices": ["a"]}}]
    assert results_to_value(other, cls, 10, 10) is None
    assert results_to_value([], det, 10, 10) == []  # detection: no objects
