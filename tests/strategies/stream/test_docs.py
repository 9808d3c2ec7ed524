"""The examples in the stream package's docstrings run and show what they claim."""

import doctest
import importlib

import pytest

MODULES = ["", ".budget", ".random", ".simulate", ".uncertainty"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    imported = importlib.import_module(f"labelloop.strategies.stream{module}")
    result = doctest.testmod(imported, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
