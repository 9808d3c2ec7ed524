"""The monitor's registries: names without heavy imports, and the errors of a wrong name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labelloop.monitor.errors import (
    ConceptInputError,
    DriftInputError,
    InvalidLabelInputError,
    UnknownOutlierDetectorError,
)
from labelloop.monitor.registry import (
    CONCEPT_DETECTORS,
    DRIFT_TESTS,
    LABEL_ERROR_FINDERS,
    OUTLIER_DETECTORS,
)
from labelloop.plugins import Registry


def test_reading_the_names_imports_neither_numpy_nor_torch() -> None:
    code = (
        "import sys\n"
        "from labelloop.monitor.registry import DRIFT_TESTS, OUTLIER_DETECTORS\n"
        "print(DRIFT_TESTS.help(), OUTLIER_DETECTORS.names())\n"
        "heavy = sorted({'numpy', 'torch', 'sklearn'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "mmd" in run.stdout and "isolation_forest" in run.stdout


@pytest.mark.parametrize(
    ("registry", "error", "names"),
    [
        (DRIFT_TESTS, DriftInputError, "classifier, ks, mmd"),
        (CONCEPT_DETECTORS, ConceptInputError, "adwin, ddm, page_hinkley"),
        (OUTLIER_DETECTORS, UnknownOutlierDetectorError, "isolation_forest, knn"),
        (LABEL_ERROR_FINDERS, InvalidLabelInputError, "confident_learning"),
    ],
)
def test_an_unknown_name_raises_the_kinds_error_listing_the_names(
    registry: Registry[object], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=f"unknown {registry.kind} 'nope'; choose one of: {names}."):
        registry.create("nope")


@pytest.mark.parametrize(
    "registry", [DRIFT_TESTS, CONCEPT_DETECTORS, OUTLIER_DETECTORS, LABEL_ERROR_FINDERS]
)
def test_every_entry_loads_a_class_of_its_name_with_help_and_needs(
    registry: Registry[object],
) -> None:
    for entry in registry:
        cls = entry.load()
        assert getattr(cls, "name", entry.name) == entry.name
        assert entry.help and entry.needs
