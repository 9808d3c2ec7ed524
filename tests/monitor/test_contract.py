"""The monitor's detector contract, run over every registered detector.

Like scikit-learn's ``parametrize_with_checks``: each entry of the registries
in :mod:`labelloop.monitor.registry` goes through the same checks, so a new
registration is tested the day it is added. A new *kind* of detector (a new
registry) needs one :class:`_Kind` adapter below: how to fit it on typical
input, on empty input, and what its output is.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError

from labelloop.config import MonitorConfig
from labelloop.errors import LabelloopError
from labelloop.monitor.concept import ConceptDriftDetector, detect_concept_drift
from labelloop.monitor.drift import DriftTest
from labelloop.monitor.errors import (
    DriftInputError,
    InvalidLabelInputError,
    InvalidOutlierInputError,
)
from labelloop.monitor.label_errors import ConfidentLearning
from labelloop.monitor.outliers import OutlierDetector
from labelloop.monitor.registry import (
    CONCEPT_DETECTORS,
    DRIFT_TESTS,
    LABEL_ERROR_FINDERS,
    OUTLIER_DETECTORS,
    SETTING_REGISTRIES,
)
from labelloop.plugins import Configurable, Registry

Outputs = tuple[NDArray[Any], ...]


def _embeddings(seed: int, n: int) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(size=(n, 4))


def _fit_drift(test: DriftTest) -> Any:
    return test.fit(_embeddings(0, 60))


def _drift_outputs(test: DriftTest) -> Outputs:
    shifted = _embeddings(1, 30) + np.array([1.5, 0.0, 0.0, 0.0])
    result = test.fit(_embeddings(0, 60)).test(shifted)
    assert 0.0 <= result.p_value <= 1.0
    assert isinstance(result.drifted, bool) and result.drifted == (result.p_value <= result.alpha)
    assert result.scores.shape == (30,) and np.isfinite(result.scores).all()
    assert (result.n_reference, result.n_batch) == (60, 30)
    return np.array([result.statistic, result.p_value]), result.scores


def _fit_outliers(detector: OutlierDetector) -> Any:
    return detector.fit(_embeddings(0, 60))


def _outlier_outputs(detector: OutlierDetector) -> Outputs:
    batch = np.vstack([_embeddings(1, 29), np.full((1, 4), 25.0)])
    detector.fit(_embeddings(0, 60))
    scores, flags = detector.score(batch), detector.predict(batch)
    assert scores.shape == (30,) and scores.dtype == np.float64 and np.isfinite(scores).all()
    assert flags.shape == (30,) and flags.dtype == np.bool_
    np.testing.assert_array_equal(flags, scores > detector.threshold_)
    assert flags[-1], "a point far from every reference point must be flagged"
    own = detector.fit_score(_embeddings(0, 60))
    assert own.shape == (60,)
    return scores, flags


def _errors() -> NDArray[np.int64]:
    rng = np.random.default_rng(0)
    steady, worse = rng.random(600) < 0.05, rng.random(600) < 0.6
    return np.concatenate([steady, worse]).astype(np.int64)


def _fit_concept(detector: ConceptDriftDetector) -> Any:
    detector.reset()
    for bit in _errors()[:50].tolist():
        assert isinstance(detector.update(bit), bool)
    return detector


def _concept_outputs(detector: ConceptDriftDetector) -> Outputs:
    detector.reset()
    fired = [detector.update(bit) for bit in _errors().tolist()]
    points = np.asarray(detector.drift_points_, dtype=np.int64)
    assert detector.n_seen_ == 1200
    np.testing.assert_array_equal(points, np.flatnonzero(fired))
    assert ((points >= 0) & (points < 1200)).all()
    assert len(points) and points[-1] >= 600, "a rise from 5% to 60% errors must be caught"
    return (points,)


def _empty_drift(test: DriftTest) -> None:
    with pytest.raises(DriftInputError, match=r"shape \(0, 4\); this test needs at least"):
        test.fit(np.empty((0, 4)))


def _empty_outliers(detector: OutlierDetector) -> None:
    with pytest.raises(InvalidOutlierInputError, match=r"needs at least \d+ rows; got 0"):
        detector.fit(np.empty((0, 4)))


def _empty_concept(detector: ConceptDriftDetector) -> None:
    # A stream is never refused for being short: an empty history is an empty report.
    report = detect_concept_drift([], detector.name, **detector.get_params())
    assert (report.n, report.drift_points, report.last_drift) == (0, (), None)


def _empty_finder(finder: ConfidentLearning) -> None:
    with pytest.raises(InvalidLabelInputError, match="probs has no rows"):
        finder.fit(np.empty(0, dtype=np.int64), np.empty((0, 3)))


def _label_data() -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    probs = np.full((60, 3), 0.05)
    probs[np.arange(60), labels] = 0.9
    probs += rng.uniform(0, 0.02, size=probs.shape)
    flipped = labels.copy()
    flipped[[0, 20, 40]] = (labels[[0, 20, 40]] + 1) % 3
    return flipped, probs / probs.sum(axis=1, keepdims=True)


def _fit_finder(finder: ConfidentLearning) -> Any:
    return finder.fit(*_label_data())


def _finder_outputs(finder: ConfidentLearning) -> Outputs:
    report = finder.fit(*_label_data()).report_
    assert report.quality.shape == (60,)
    assert ((report.quality >= 0) & (report.quality <= 1)).all()
    assert ((report.flagged >= 0) & (report.flagged < 60)).all()
    assert len(set(report.flagged.tolist())) == len(report.flagged)
    assert {0, 20, 40} <= set(report.flagged.tolist())
    return report.flagged, report.quality, report.suggested


@dataclass(frozen=True)
class _Kind:
    """How the contract drives one registry's detectors."""

    registry: Registry[Any]
    fit: Callable[[Any], Any]
    """Fit on typical input; returns what ``fit`` returned."""
    outputs: Callable[[Any], Outputs]
    """Fit and run; checks shapes and ranges; returns the arrays to compare across runs."""
    empty: Callable[[Any], None]
    """Asserts what empty input does: a clear error, or (streams) an empty report."""


KINDS = {
    "drift test": _Kind(DRIFT_TESTS, _fit_drift, _drift_outputs, _empty_drift),
    "outlier detector": _Kind(OUTLIER_DETECTORS, _fit_outliers, _outlier_outputs, _empty_outliers),
    "concept drift detector": _Kind(
        CONCEPT_DETECTORS, _fit_concept, _concept_outputs, _empty_concept
    ),
    "label-error finder": _Kind(LABEL_ERROR_FINDERS, _fit_finder, _finder_outputs, _empty_finder),
}

CASES = [
    pytest.param(kind, entry.name, id=f"{kind}:{entry.name}")
    for kind, spec in KINDS.items()
    for entry in spec.registry
]


def _build(kind: str, name: str) -> Any:
    return KINDS[kind].registry.create(name)


def test_every_registry_has_an_adapter_and_entries() -> None:
    import labelloop.monitor.registry as registry

    found = {value.kind for value in vars(registry).values() if isinstance(value, Registry)}
    assert found == set(KINDS)
    assert all(len(spec.registry) >= 1 for spec in KINDS.values())


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_constructor_only_stores_its_parameters(kind: str, name: str) -> None:
    detector = _build(kind, name)
    assert isinstance(detector, Configurable)
    defaults = {
        key: parameter.default
        for key, parameter in inspect.signature(type(detector).__init__).parameters.items()
        if key != "self"
    }
    assert detector.get_params() == dict(sorted(defaults.items()))
    assert set(vars(detector)) == set(defaults), "a constructor must store only its arguments"


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_parameters_are_declared_once_as_dataclass_fields(kind: str, name: str) -> None:
    detector = _build(kind, name)
    fields = dataclasses.fields(detector)
    assert {f.name for f in fields if f.init} == set(detector.get_params())
    state = [f.name for f in fields if not f.init]
    assert all(n.endswith("_") or n.startswith("_") for n in state), state


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_every_constrained_parameter_is_a_constructor_parameter(kind: str, name: str) -> None:
    detector = _build(kind, name)
    assert set(detector.constraints) <= set(detector.get_params())
    assert issubclass(detector.parameter_error, LabelloopError)
    assert issubclass(detector.parameter_error, ValueError)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_a_bad_parameter_is_stored_and_refused_at_fit_with_the_template(
    kind: str, name: str
) -> None:
    for parameter, constraint in _build(kind, name).constraints.items():
        detector = _build(kind, name).set_params(**{parameter: "bogus"})
        assert getattr(detector, parameter) == "bogus"
        expected = f"{parameter} must be {constraint.describe()}; got 'bogus'."
        with pytest.raises(detector.parameter_error, match=re.escape(expected)):
            KINDS[kind].fit(detector)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_get_params_round_trips(kind: str, name: str) -> None:
    detector = _build(kind, name)
    params = detector.get_params()
    rebuilt = type(detector)(**params)
    assert rebuilt.get_params() == params
    assert repr(rebuilt) == repr(detector)
    assert detector.set_params(**params) is detector
    with pytest.raises(detector.parameter_error, match="takes no parameter 'no_such'"):
        detector.set_params(no_such=1)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_fit_returns_self(kind: str, name: str) -> None:
    detector = _build(kind, name)
    assert KINDS[kind].fit(detector) is detector


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_outputs_have_their_shapes_and_ranges_and_repeat_for_a_seed(kind: str, name: str) -> None:
    detector = _build(kind, name)
    if "random_state" in detector.get_params():
        detector.set_params(random_state=0)
    first = KINDS[kind].outputs(detector)
    again = KINDS[kind].outputs(type(detector)(**detector.get_params()))
    assert len(first) == len(again)
    for one, other in zip(first, again, strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_empty_input_is_refused_with_a_clear_error(kind: str, name: str) -> None:
    KINDS[kind].empty(_build(kind, name))


@pytest.mark.parametrize(
    ("field", "registry"),
    [
        ("drift_test", DRIFT_TESTS),
        ("concept_detector", CONCEPT_DETECTORS),
        ("outlier_detector", OUTLIER_DETECTORS),
    ],
)
def test_settings_accept_exactly_the_registered_names(field: str, registry: Registry[Any]) -> None:
    for name in registry.names():
        assert getattr(MonitorConfig.model_validate({field: name}), field) == name
    listed = f"unknown {registry.kind} 'nope'; choose one of: {', '.join(registry.names())}."
    with pytest.raises(ValidationError, match=re.escape(listed)):
        MonitorConfig.model_validate({field: "nope"})
    assert SETTING_REGISTRIES[field] is registry
