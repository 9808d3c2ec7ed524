"""Tests for labelloop.monitor.metadata: planted bad cells in a clean table."""

import json
import math

import numpy as np
import pytest

from labelloop.errors import LabelloopError
from labelloop.monitor.metadata import (
    CHANGE_REASONS,
    InvalidMetadataParameterError,
    MetadataCleaner,
    MetadataColumnError,
    MetadataNotFittedError,
    MetadataTable,
    MetadataValueError,
    ValueRule,
)

RULES = (ValueRule("speed", minimum=0.0), ValueRule("exposure", minimum=0.0, maximum=1.0))


def _reference(n: int = 400) -> dict[str, list[float | int | str | None]]:
    rng = np.random.default_rng(0)
    return {
        "speed": rng.normal(30.0, 5.0, n).tolist(),
        "exposure": rng.uniform(0.2, 0.8, n).tolist(),
        "temperature": rng.normal(20.0, 5.0, n).tolist(),
    }


def _clean_batch(n: int = 60) -> dict[str, list[float | int | str | None]]:
    """Values well inside the reference's 1%..99% range, so none is clipped."""
    rng = np.random.default_rng(1)
    return {
        "speed": rng.uniform(25.0, 35.0, n).tolist(),
        "exposure": rng.uniform(0.3, 0.7, n).tolist(),
        "temperature": rng.uniform(15.0, 25.0, n).tolist(),
    }


# (row, column) -> (planted value, expected reason)
PLANTED: dict[tuple[int, str], tuple[float | str | None, str]] = {
    (3, "speed"): (-5.0, "impossible"),
    (7, "exposure"): (1.7, "impossible"),
    (10, "temperature"): (math.nan, "missing"),
    (11, "speed"): (None, "missing"),
    (12, "exposure"): ("", "missing"),
    (13, "temperature"): (math.inf, "missing"),
    (20, "speed"): (900.0, "clipped_high"),
    (21, "temperature"): (-300.0, "clipped_low"),
    (22, "temperature"): ("1000", "clipped_high"),
}


def _planted_batch() -> dict[str, list[float | int | str | None]]:
    batch = _clean_batch()
    for (row, column), (value, _) in PLANTED.items():
        batch[column][row] = value
    batch["speed"][30] = "31.5"  # a numeric string is a number, not a change
    return batch


def test_changes_exactly_the_planted_cells() -> None:
    cleaner = MetadataCleaner(rules=RULES).fit(_reference())
    batch = _planted_batch()
    result = cleaner.transform(batch)
    assert result.changed_cells() == set(PLANTED)
    assert {(c.row, c.column): c.reason for c in result.changes} == {
        cell: reason for cell, (_, reason) in PLANTED.items()
    }
    assert {c.reason for c in result.changes} <= set(CHANGE_REASONS)
    for name in result.columns:
        unchanged = [r for r in range(60) if (r, name) not in PLANTED]
        np.testing.assert_array_equal(
            result.cleaned[name][unchanged], result.original[name][unchanged]
        )
        assert np.isfinite(result.cleaned[name]).all()
    assert result.cleaned["speed"][30] == 31.5


def test_original_keeps_the_input() -> None:
    cleaner = MetadataCleaner(rules=RULES).fit(_reference())
    batch = _planted_batch()
    result = cleaner.transform(batch)
    assert result.original["speed"][3] == -5.0
    assert result.original["temperature"][21] == -300.0
    assert result.original["temperature"][13] == math.inf
    assert math.isnan(result.original["speed"][11])
    assert math.isnan(result.original["exposure"][12])
    change = {(c.row, c.column): c for c in result.changes}
    assert change[3, "speed"].original == -5.0
    assert change[11, "speed"].original is None
    assert change[20, "speed"].original == 900.0
    assert batch["speed"][3] == -5.0  # the input is not mutated


def test_clips_to_bounds_and_imputes_median_of_reference() -> None:
    reference = _reference()
    cleaner = MetadataCleaner(rules=RULES, impute="median").fit(reference)
    temperature = np.array(reference["temperature"], dtype=float)
    assert cleaner.lower_["temperature"] == pytest.approx(np.quantile(temperature, 0.01))
    assert cleaner.upper_["temperature"] == pytest.approx(np.quantile(temperature, 0.99))
    result = cleaner.transform(_planted_batch())
    assert result.cleaned["speed"][20] == cleaner.upper_["speed"]
    assert result.cleaned["temperature"][21] == cleaner.lower_["temperature"]
    median = float(
        np.median(
            np.clip(temperature, cleaner.lower_["temperature"], cleaner.upper_["temperature"])
        )
    )
    assert result.cleaned["temperature"][10] == pytest.approx(median)
    assert result.cleaned["temperature"][13] == pytest.approx(median)


def test_bounds_come_from_reference_not_batch() -> None:
    cleaner = MetadataCleaner().fit(_reference())
    extreme = {"speed": [500.0, 600.0, 700.0], "exposure": [0.5] * 3, "temperature": [20.0] * 3}
    result = cleaner.transform(extreme)
    np.testing.assert_array_equal(result.cleaned["speed"], [cleaner.upper_["speed"]] * 3)
    assert cleaner.upper_["speed"] < 50.0
    assert all(c.reason == "clipped_high" for c in result.changes)


def test_impossible_reference_values_are_left_out_of_bounds() -> None:
    reference = _reference()
    reference["speed"][:40] = [-1000.0] * 40  # 10% impossible speeds
    cleaner = MetadataCleaner(rules=RULES).fit(reference)
    assert cleaner.lower_["speed"] > 0.0
    unruled = MetadataCleaner().fit(reference)
    assert unruled.lower_["speed"] == -1000.0


def test_without_winsorizing_nothing_is_clipped() -> None:
    cleaner = MetadataCleaner(rules=RULES, winsorize=None).fit(_reference())
    result = cleaner.transform(_planted_batch())
    assert not any(c.reason.startswith("clipped") for c in result.changes)
    assert result.cleaned["speed"][20] == 900.0


def test_without_imputer_missing_stays_missing_and_is_not_a_change() -> None:
    cleaner = MetadataCleaner(rules=RULES, impute=None).fit(_reference())
    result = cleaner.transform(_planted_batch())
    change = {(c.row, c.column): c for c in result.changes}
    assert (11, "speed") not in change  # None -> NaN is no change
    assert (3, "speed") in change  # impossible -5 -> NaN is one
    assert math.isnan(change[3, "speed"].cleaned)
    assert change[13, "temperature"].reason == "missing"  # inf -> NaN is one
    assert math.isnan(result.cleaned["speed"][11])


def _correlated_reference(n: int = 500) -> dict[str, list[float | int | str | None]]:
    rng = np.random.default_rng(2)
    t = rng.uniform(0.0, 1.0, n)
    return {
        "a": t.tolist(),
        "b": (t + rng.normal(0.0, 0.01, n)).tolist(),
        # Irrelevant to b, and on a scale that would drown a in raw distances.
        "c": rng.uniform(1000.0, 1050.0, n).tolist(),
    }


def test_knn_imputation_uses_neighbours() -> None:
    reference = _correlated_reference()
    batch: MetadataTable = {"a": [0.9, 0.1], "b": [None, None], "c": [1025.0, 1025.0]}
    knn = MetadataCleaner(impute="knn", n_neighbors=5).fit(reference).transform(batch)
    median = MetadataCleaner(impute="median").fit(reference).transform(batch)
    assert knn.cleaned["b"][0] == pytest.approx(0.9, abs=0.08)
    assert knn.cleaned["b"][1] == pytest.approx(0.1, abs=0.08)
    assert median.cleaned["b"][0] == pytest.approx(median.cleaned["b"][1])
    assert median.cleaned["b"][0] == pytest.approx(0.5, abs=0.1)
    assert [(c.row, c.column, c.reason) for c in knn.changes] == [
        (0, "b", "missing"),
        (1, "b", "missing"),
    ]


def test_mean_imputation() -> None:
    reference = {"x": [1.0, 2.0, 3.0, 10.0]}
    cleaner = MetadataCleaner(impute="mean", winsorize=None).fit(reference)
    assert cleaner.transform({"x": [None]}).cleaned["x"][0] == pytest.approx(4.0)


def test_to_records_is_json_ready() -> None:
    cleaner = MetadataCleaner(rules=RULES).fit(_reference())
    records = cleaner.transform(_planted_batch()).to_records()
    payload = json.loads(json.dumps(records, allow_nan=False))
    by_cell = {(r["row"], r["column"]): r for r in payload}
    assert by_cell[3, "speed"]["original"] == -5.0
    assert by_cell[3, "speed"]["reason"] == "impossible"
    assert by_cell[13, "temperature"]["original"] is None
    assert set(payload[0]) == {"row", "column", "original", "cleaned", "reason"}


def test_non_numeric_string_names_row_and_column() -> None:
    cleaner = MetadataCleaner().fit(_reference())
    batch = _clean_batch()
    batch["temperature"][5] = "abc"
    with pytest.raises(MetadataValueError, match=r"row 5, column 'temperature'.*'abc'") as info:
        cleaner.transform(batch)
    assert isinstance(info.value, LabelloopError)
    assert isinstance(info.value, ValueError)
    batch["temperature"][5] = True
    with pytest.raises(MetadataValueError, match="bool"):
        cleaner.transform(batch)


def test_column_errors() -> None:
    cleaner = MetadataCleaner().fit(_reference())
    batch = _clean_batch()
    del batch["speed"]
    batch["velocity"] = [1.0] * 60
    with pytest.raises(
        MetadataColumnError, match=r"missing \['speed'\], unexpected \['velocity'\]"
    ):
        cleaner.transform(batch)
    with pytest.raises(MetadataColumnError, match="unequal lengths"):
        MetadataCleaner().fit({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(MetadataColumnError, match="'speed'"):
        MetadataCleaner(rules=[ValueRule("speed", 0.0)]).fit({"a": [1.0]})
    with pytest.raises(MetadataColumnError, match="no valid value"):
        MetadataCleaner().fit({"a": [None, math.nan]})


def test_parameter_errors() -> None:
    with pytest.raises(InvalidMetadataParameterError, match="swap"):
        ValueRule("x", minimum=5.0, maximum=1.0)
    with pytest.raises(InvalidMetadataParameterError, match="finite"):
        ValueRule("x", minimum=math.nan)
    reference = {"x": [1.0, 2.0]}
    for cleaner, match in [
        (MetadataCleaner(winsorize=(0.9, 0.1)), "winsorize"),
        (MetadataCleaner(impute="mode"), "impute"),  # type: ignore[arg-type]
        (MetadataCleaner(n_neighbors=0), "n_neighbors"),
    ]:
        assert not hasattr(cleaner, "columns_")
        with pytest.raises(InvalidMetadataParameterError, match=match):
            cleaner.fit(reference)
    with pytest.raises(MetadataNotFittedError, match="fit"):
        MetadataCleaner().transform(reference)
