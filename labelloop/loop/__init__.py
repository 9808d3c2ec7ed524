"""Orchestration: project folders, rounds, and simulation with an oracle."""

from labelloop.loop.engine import Selection, fit_learner, select_batch
from labelloop.loop.oracle import Oracle
from labelloop.loop.round import RoundResult, UnsupportedTaskError, run_round
from labelloop.loop.simulate import Dataset, SimulationSettings, load_dataset, run_simulation
from labelloop.loop.workspace import ImportReport, ProjectDirError, Workspace

__all__ = [
    "Dataset",
    "ImportReport",
    "Oracle",
    "ProjectDirError",
    "RoundResult",
    "Selection",
    "SimulationSettings",
    "UnsupportedTaskError",
    "Workspace",
    "fit_learner",
    "load_dataset",
    "run_round",
    "run_simulation",
    "select_batch",
]
