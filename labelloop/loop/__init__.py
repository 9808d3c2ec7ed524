"""Orchestration: project folders, rounds, and simulation with an oracle.

Exports are imported on first use (:mod:`labelloop._lazy`), so opening a
project does not load torch.
"""

from typing import TYPE_CHECKING

from labelloop._lazy import lazy_exports

if TYPE_CHECKING:
    from labelloop.loop.engine import Selection, fit_learner, select_batch
    from labelloop.loop.oracle import Oracle
    from labelloop.loop.round import RoundResult, UnsupportedTaskError, run_round
    from labelloop.loop.simulate import Dataset, SimulationSettings, load_dataset, run_simulation
    from labelloop.loop.simulation import SimulationMode, simulate
    from labelloop.loop.workspace import ImportReport, ProjectDirError, Workspace

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Selection": "labelloop.loop.engine",
        "fit_learner": "labelloop.loop.engine",
        "select_batch": "labelloop.loop.engine",
        "Oracle": "labelloop.loop.oracle",
        "RoundResult": "labelloop.loop.round",
        "UnsupportedTaskError": "labelloop.loop.round",
        "run_round": "labelloop.loop.round",
        "Dataset": "labelloop.loop.simulate",
        "SimulationSettings": "labelloop.loop.simulate",
        "load_dataset": "labelloop.loop.simulate",
        "run_simulation": "labelloop.loop.simulate",
        "SimulationMode": "labelloop.loop.simulation",
        "simulate": "labelloop.loop.simulation",
        "ImportReport": "labelloop.loop.workspace",
        "ProjectDirError": "labelloop.loop.workspace",
        "Workspace": "labelloop.loop.workspace",
    },
)

__all__ = [
    "Dataset",
    "ImportReport",
    "Oracle",
    "ProjectDirError",
    "RoundResult",
    "Selection",
    "SimulationMode",
    "SimulationSettings",
    "UnsupportedTaskError",
    "Workspace",
    "fit_learner",
    "load_dataset",
    "run_round",
    "run_simulation",
    "select_batch",
    "simulate",
]
