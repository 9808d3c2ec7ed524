"""A full disk: clear 503s and CLI errors, nothing half-written, and work resumes once freed.

The project lives on a small tmpfs mounted by the test (as root); elsewhere
the module is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.data.demo import write_digits
from tests.server.conftest import PASSWORD, LiveServer, make_project, start_server


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the disk is full."""
    with path.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * (64 << 10))
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            pass


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_gets_503_then_the_server_resumes(small_disk: Path) -> None:
    root = make_project(small_disk / "proj", per_class=3, retrain_every=1000)
    server: LiveServer = start_server(root)
    filler = small_disk / "filler"
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
            headers = {"x-csrf-token": answer.json()["csrf_token"]}
            served = client.post("/api/queue/next", headers=headers).json()["served"]
            first = client.post(
                "/api/labels", json={"lease_id": served["lease_id"], "value": "0"}, headers=headers
            )
            assert first.status_code == 201
            _fill(filler)
            refused = []
            for _ in range(5):  # SQLite may still have room in pages it holds
                nxt = client.post("/api/queue/next", headers=headers)
                if nxt.status_code == 200 and nxt.json()["served"]:
                    lease = nxt.json()["served"]["lease_id"]
                    nxt = client.post(
                        "/api/labels", json={"lease_id": lease, "value": "1"}, headers=headers
                    )
                refused.append(nxt)
                if nxt.status_code == 503:
                    break
            last = refused[-1]
            assert last.status_code == 503, [(r.status_code, r.text[:200]) for r in refused]
            assert "space is freed" in last.json()["detail"] and last.headers["retry-after"]
            filler.unlink()
            assert server.process.poll() is None, "the server died of a full disk"
            try:
                again = client.post("/api/queue/next", headers=headers)
            except httpx.TransportError:  # the error closed that connection; a new one works
                again = client.post("/api/queue/next", headers=headers)
            assert again.status_code == 200, again.text
            history = client.get(f"/api/items/{served['item']['id']}/history").json()
            assert [e["value"] for e in history] == ["0"], "an acknowledged label was lost"
    finally:
        filler.unlink(missing_ok=True)
        server.stop()


def test_an_import_onto_a_full_disk_says_so_and_leaves_no_partial_file(
    small_disk: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    proj = small_disk / "proj"
    assert runner.invoke(app, ["init", str(proj), "--classes", "a,b"]).exit_code == 0
    digits = write_digits(tmp_path / "digits")
    _fill(small_disk / "filler")
    result = runner.invoke(app, ["import", str(proj), str(digits / "3")])
    assert result.exit_code == 1, result.output
    assert "free some space" in result.output and "Traceback" not in result.output
    assert not list(proj.rglob(".part-*")), "a copy cut short was left behind"


def test_serve_on_a_full_disk_says_what_is_wrong_and_starts_once_freed(small_disk: Path) -> None:
    root = make_project(small_disk / "proj", per_class=3, retrain_every=1000)
    filler = small_disk / "filler"
    _fill(filler)
    refused = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", "serve", str(root), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = refused.stdout + refused.stderr
    assert refused.returncode == 1, out
    assert "disk could not be written (is it full?)" in out and "free some space" in out
    assert "Traceback" not in out
    filler.unlink()
    server = start_server(root)
    try:
        assert httpx.get(f"{server.url}/login", timeout=10).status_code == 200
    finally:
        server.stop()
