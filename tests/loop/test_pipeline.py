"""labelloop.loop.pipeline: one round of any task, from snapshot to monitor hooks."""

from __future__ import annotations

from typing import Any

import pytest

from labelloop.loop import Workspace, run_round
from labelloop.loop.pipeline import TASKS, UnsupportedTaskError, interleave, task_for
from labelloop.store import LabelInput, RankedItem


def _label(ws: Workspace, truth: dict[int, str], ids: list[int], source: Any = "human") -> None:
    ws.store.record_labels(
        ws.project.id, [LabelInput(i, truth[i], source=source, annotator="t") for i in ids]
    )


def test_interleave_places_extras_at_every_kth_place_without_repeats() -> None:
    ranking = [RankedItem(item_id=i) for i in range(1, 8)]
    extra = [RankedItem(item_id=5), RankedItem(item_id=100)]
    out = [row.item_id for row in interleave(ranking, extra, 0.25)]
    assert out == [5, 1, 2, 3, 100, 4, 6, 7]
    assert [r.item_id for r in interleave(ranking[:1], extra, 0.5)] == [5, 1, 100]


def test_a_pool_file_deleted_after_import_is_flagged_and_the_round_completes(
    ws: Workspace, truth: dict[int, str]
) -> None:
    pid = ws.project.id
    first = run_round(ws).round.selected
    ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in first])
    items = ws.store.items(pid)
    lost = next(item for item in items if item.id not in first)
    ws.image_path(lost).unlink()
    result = run_round(ws)
    assert result.metrics.unreadable == 1
    assert lost.id not in [r for r in result.round.selected]
    assert ws.store.monitor.flagged_items(pid, "unreadable") == {lost.id}
    report = ws.store.monitor.latest(pid, "unreadable")
    assert report is not None and report.alert and lost.name in report.summary


def test_a_round_reads_the_pool_in_chunks_never_whole(
    ws: Workspace, truth: dict[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the labeled images are loaded together; the pool streams through the scorer."""
    import labelloop.loop.workspace as workspace_module
    import labelloop.scale.local as local_module
    from labelloop.scale import LocalScorer

    loaded: list[int] = []

    def spy(real: Any) -> Any:
        def load(paths: Any, **kwargs: Any) -> Any:
            loaded.append(len(paths))
            return real(paths, **kwargs)

        return load

    for module in (workspace_module, local_module):
        monkeypatch.setattr(module, "load_images", spy(module.load_images))
    pid = ws.project.id
    first = run_round(ws).round.selected
    ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in first])
    loaded.clear()
    result = run_round(ws, scorer=LocalScorer(chunk_size=16))
    assert result.metrics.n_pool == 150
    assert max(loaded) == len(first)  # the labeled set, for the fit
    assert sum(loaded) == len(first) + 150  # and every pool image once, one at a time


def test_interleave_with_a_full_share_alternates_and_keeps_leftover_extras_at_the_end() -> None:
    ranking = [RankedItem(item_id=i) for i in (1, 2)]
    extra = [RankedItem(item_id=i) for i in (10, 11, 12)]
    assert [r.item_id for r in interleave(ranking, extra, 1.0)] == [10, 1, 11, 2, 12]
    assert interleave(ranking, [], 0.5) == ranking


def test_each_task_has_its_round_plug_in_and_an_unknown_one_is_refused() -> None:
    for name in TASKS:
        assert task_for(name).name == name
    with pytest.raises(UnsupportedTaskError, match=r"'segmentation'.*'classification'"):
        task_for("segmentation")
    # The error is also a NotImplementedError, for callers that catch that.
    with pytest.raises(NotImplementedError):
        task_for("segmentation")


def test_a_round_reports_its_steps_in_order(ws: Workspace, truth: dict[int, str]) -> None:
    steps: list[tuple[str, float]] = []
    first = run_round(ws, on_step=lambda name, done: steps.append((name, done)))
    # A cold start has nothing to fit or score.
    assert [name for name, _ in steps] == ["snapshot", "rank", "monitor", "done"]
    _label(ws, truth, first.round.selected)
    steps.clear()
    run_round(ws, on_step=lambda name, done: steps.append((name, done)))
    names = [name for name, _ in steps]
    # The pipeline's own steps, in order (the task may report steps of its own between them)
    own = ["snapshot", "load labeled images", "score pool", "rank", "monitor", "done"]
    # (scoring the pool reports its progress under the same name).
    assert [name for k, name in enumerate(names) if name in own and name not in names[:k]] == own
    done = [fraction for name, fraction in steps if name in own]
    assert done == sorted(done) and done[-1] == 1.0


def test_auto_labels_never_train_and_do_not_count_as_labeled(
    ws: Workspace, truth: dict[int, str]
) -> None:
    ids = sorted(truth)
    _label(ws, truth, ids[:12])
    _label(ws, truth, ids[12:40], source="auto")
    result = run_round(ws)
    assert result.metrics.n_labeled == 12
    assert (result.metrics.n_train or 0) + (result.metrics.n_val or 0) == 12
    # Auto-labeled items stay in the ranking (an auto label may be withdrawn later);
    # what people labeled does not.
    ranked = set(ws.store.ranking_view(ws.project.id, ids).entries)
    assert set(ids[12:40]) <= ranked and not ranked & set(ids[:12])


def test_a_pool_a_person_labeled_entirely_ranks_nothing(
    ws: Workspace, truth: dict[int, str]
) -> None:
    _label(ws, truth, sorted(truth))
    result = run_round(ws)
    assert result.round.selected == [] and result.round.model_id is not None
    assert result.metrics.n_labeled == result.metrics.n_pool == 150
