"""Tests of labelloop.data.formats, with fixtures written by make_fixtures.py."""

from __future__ import annotations

from pathlib import Path

from labelloop.data.formats import DetectionDataset, FormatProblem

FIXTURES = Path(__file__).parent / "fixtures"


def problem(
    dataset: DetectionDataset, file_end: str, where: str | None, words: str
) -> FormatProblem:
    """The one problem about ``file_end`` at ``where`` whose reason holds ``words``.

    Args:
        dataset: What a reader returned.
        file_end: How the problem's file path ends (``"labels/b.txt"``).
        where: The problem's exact place, or ``None`` for the whole file.
        words: A substring of the reason.

    Returns:
        The problem; the test fails when there is not exactly one.
    """
    found = [
        item
        for item in dataset.problems
        if item.file.endswith(file_end) and item.where == where and words in item.reason
    ]
    assert len(found) == 1, f"no single {file_end} {where} {words!r} in {dataset.problems}"
    return found[0]


def names(dataset: DetectionDataset) -> list[str]:
    """File names of the records that imported, in order."""
    return [record.file_name for record in dataset.records]
