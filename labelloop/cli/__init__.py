"""The ``labelloop`` command.

Each module holds one group of commands as plain functions; this module
registers them on :data:`app` in the order ``labelloop --help`` lists them.
Commands that train, score or simulate import what they need when they run:
``labelloop --help``, ``status`` or ``config`` must not load torch (seconds).
"""

from __future__ import annotations

import typer

from labelloop.cli import data, labeling, monitor, project, serve, training, users

__all__ = ["app"]

app = typer.Typer(
    help="Active learning for computer-vision labeling.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command()(project.init)
app.command("import")(data.import_)
app.command()(project.status)
app.command()(monitor.monitor)
app.command()(labeling.query)
app.command()(labeling.label)
app.command()(training.train)
app.command()(labeling.history)
app.command()(data.export)
app.command()(project.instructions)
app.command()(project.snapshots)
app.command()(training.simulate)
app.command()(data.stream)
app.add_typer(users.user_app, name="user")
app.command()(serve.serve)
app.command()(training.pretrain)
app.command("ls-connect")(serve.ls_connect)
app.command()(serve.worker)
app.command()(serve.demo)
app.command()(project.migrate)
app.command("config")(project.config_)
