"""Projects (labelloop.store.projects): unique names, configuration and its history."""

from __future__ import annotations

import pytest

from labelloop.store import ProjectExistsError, ProjectNotFoundError, Store


def test_project_names_are_unique_and_lookups_fail_clearly(store: Store) -> None:
    store.create_project("a", {"task": "classification", "classes": ["x"]})
    with pytest.raises(ProjectExistsError, match="already exists"):
        store.create_project("a", {"task": "classification", "classes": ["x"]})
    with pytest.raises(ProjectNotFoundError, match=r"'b'.*'a'"):
        store.project("b")


def test_a_config_change_is_recorded_with_who_and_why(store: Store, project_id: int) -> None:
    config = dict(store.project("p").config)
    store.update_config(
        project_id,
        config | {"batch_size": 8},
        changes=[("batch_size", None, 8)],
        who="ann",
        note="first round",
    )
    assert store.project("p").config["batch_size"] == 8
    [change] = store.config_history(project_id)
    assert (change.key, change.old, change.new, change.who, change.note) == (
        "batch_size",
        None,
        8,
        "ann",
        "first round",
    )
    with pytest.raises(ProjectNotFoundError):
        store.update_config(project_id + 50, config)
