"""Request-scoped access to the server's shared state."""

from __future__ import annotations

from fastapi import Request

from labelloop.loop import Workspace
from labelloop.server.trainer import Trainer
from labelloop.store import Store

__all__ = ["store_of", "trainer_of", "workspace_of"]


def workspace_of(request: Request) -> Workspace:
    """The project the server serves."""
    ws: Workspace = request.app.state.ws
    return ws


def store_of(request: Request) -> Store:
    """The project's store."""
    return workspace_of(request).store


def trainer_of(request: Request) -> Trainer:
    """The project's background trainer."""
    trainer: Trainer = request.app.state.trainer
    return trainer
