"""``labelloop user``: accounts, their passwords and their API tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labelloop.cli._console import JsonFlag, ProjectDir, console, friendly
from labelloop.loop.workspace import Workspace

user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)


def _new_secret(password: str | None) -> str:
    """``password``, or a generated one; either way at least 8 characters."""
    import secrets

    secret = password or secrets.token_urlsafe(12)
    if len(secret) < 8:
        raise ValueError("a password needs at least 8 characters")
    return secret


@user_app.command("add")
@friendly
def user_add(
    project_dir: ProjectDir,
    username: str,
    role: Annotated[str, typer.Option(help="admin, reviewer or annotator.")] = "annotator",
    password: Annotated[
        str | None, typer.Option(help="Password; default: generate one and print it.")
    ] = None,
) -> None:
    """Add an account to the project's database."""
    from labelloop.server.security import hash_password

    with Workspace.open(project_dir) as ws:
        secret = _new_secret(password)
        user = ws.store.people.create_user(username, hash_password(secret), role)  # type: ignore[arg-type]
    console.print(f"added {user.username} ({user.role})" + ("" if password else f": {secret}"))


@user_app.command("list")
@friendly
def user_list(project_dir: ProjectDir, as_json: JsonFlag = False) -> None:
    """Every account: name, role, whether it may sign in."""
    with Workspace.open(project_dir) as ws:
        users = ws.store.people.users()
    rows = [{"username": u.username, "role": u.role, "active": u.active} for u in users]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("user", "role", "active")
    for row in rows:
        table.add_row(str(row["username"]), str(row["role"]), "yes" if row["active"] else "no")
    console.print(table if rows else f"no accounts yet: labelloop user add {project_dir} NAME")


def _set_active(project_dir: Path, username: str, active: bool) -> None:
    with Workspace.open(project_dir) as ws:
        ws.store.people.update_user(username, active=active)
    console.print(f"{'enabled' if active else 'disabled'} {username}")


@user_app.command("disable")
@friendly
def user_disable(project_dir: ProjectDir, username: str) -> None:
    """Stop an account from signing in; its sessions and tokens end now."""
    _set_active(project_dir, username, False)


@user_app.command("enable")
@friendly
def user_enable(project_dir: ProjectDir, username: str) -> None:
    """Let a disabled account sign in again."""
    _set_active(project_dir, username, True)


@user_app.command("passwd")
@friendly
def user_passwd(
    project_dir: ProjectDir,
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; default: generate one and print it.")
    ] = None,
) -> None:
    """Set a new password; the account's sessions and tokens end now."""
    from labelloop.server.security import hash_password

    secret = _new_secret(password)
    with Workspace.open(project_dir) as ws:
        ws.store.people.update_user(username, password_hash=hash_password(secret))
    console.print(f"new password for {username}" + ("" if password else f": {secret}"))


@user_app.command("tokens")
@friendly
def user_tokens(
    project_dir: ProjectDir,
    username: str,
    revoke: Annotated[
        int | None, typer.Option(min=1, max=2**63 - 1, help="Withdraw the token with this id.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """An account's API tokens (names and dates, never secrets); --revoke ID withdraws one."""
    with Workspace.open(project_dir) as ws:
        people = ws.store.people
        owner = people.user(username)
        if revoke is not None:
            people.revoke_token(owner.id, revoke)
            console.print(f"withdrew token {revoke} of {username}")
            return
        tokens = people.tokens(owner.id)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "created": t.created_at.isoformat(timespec="seconds"),
            "expires": None if t.expires_at is None else t.expires_at.isoformat(timespec="seconds"),
            "revoked": None if t.revoked_at is None else t.revoked_at.isoformat(timespec="seconds"),
        }
        for t in tokens
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "created", "expires", "revoked")
    for row in rows:
        table.add_row(*(str(row[k] or "") for k in ("id", "name", "created", "expires", "revoked")))
    console.print(table if rows else f"{username} has no API tokens")
