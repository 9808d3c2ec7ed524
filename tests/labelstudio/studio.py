"""A real Label Studio for tests: installed once into a cached side venv, started on loopback.

The venv lives in ``$LABELLOOP_LS_VENV`` (default
``~/.cache/labelloop/label-studio-1.23.2``) and is reused by later runs;
installing takes about three minutes and a gigabyte. Each server runs in a
temporary data folder on a free port, in its own process group, which is
stopped as a whole (its reloader leaves a child otherwise).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelloop.loop.labelstudio import LabelStudioClient, LabelStudioError
from tests.server.conftest import free_port

VERSION = "1.23.2"
VENV = Path(
    os.environ.get(
        "LABELLOOP_LS_VENV", Path.home() / ".cache" / "labelloop" / f"label-studio-{VERSION}"
    )
)
TOKEN = "0123456789abcdef0123456789abcdef01234567"
USER = "annotator@example.com"


class UnavailableError(Exception):
    """Label Studio could not be installed here (the reason says why)."""


def ensure_installed() -> Path:
    """The ``label-studio`` executable, installing the side venv on first use."""
    exe = VENV / "bin" / "label-studio"
    if exe.exists():
        return exe
    VENV.parent.mkdir(parents=True, exist_ok=True)
    log = VENV.parent / f"label-studio-{VERSION}-install.log"
    with open(log, "w") as out:
        steps = [
            [sys.executable, "-m", "venv", str(VENV)],
            [str(VENV / "bin" / "pip"), "install", "--quiet", f"label-studio=={VERSION}"],
        ]
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                tail = log.read_text(errors="replace")[-600:]
                subprocess.run(["rm", "-rf", str(VENV)])
                raise UnavailableError(f"pip could not install label-studio=={VERSION}: {tail}")
    return exe


@dataclass
class Studio:
    """A running Label Studio and its admin's API token."""

    url: str
    token: str = TOKEN

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call of Label Studio's REST API, as labelloop's own client makes it."""
        try:
            return LabelStudioClient(self.url, self.token, timeout=120).request(method, path, body)
        except LabelStudioError as exc:
            raise AssertionError(str(exc)) from None

    def upload(self, project: int, files: dict[str, bytes]) -> Any:
        """Import image files as tasks (what dragging files into Label Studio does)."""
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, content in files.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode()
            )
            body.write(content + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        req = urllib.request.Request(
            f"{self.url}/api/projects/{project}/import",
            data=body.getvalue(),
            method="POST",
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(req, timeout=300) as answer:
            return json.loads(answer.read())


@contextmanager
def label_studio(*, start_timeout: float = 400) -> Iterator[Studio]:
    """Start Label Studio on a free loopback port; stop its whole process group after."""
    exe = ensure_installed()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ls-data-") as data:
        env = os.environ | {
            "LABEL_STUDIO_BASE_DATA_DIR": data,
            "LABEL_STUDIO_USERNAME": USER,
            "LABEL_STUDIO_PASSWORD": "annotator-password-1",
            "LABEL_STUDIO_USER_TOKEN": TOKEN,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            # A backend and webhooks on this host: Label Studio refuses loopback otherwise.
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
        }
        log = open(Path(data) / "server.log", "w")  # noqa: SIM115 - open while it runs
        proc = subprocess.Popen(
            [
                str(exe),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(port),
                "--host",
                f"http://127.0.0.1:{port}",
            ],
            env=env,
            cwd=data,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        studio = Studio(f"http://127.0.0.1:{port}")
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    text = (Path(data) / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"Label Studio exited at start-up:\n{text}")
                try:
                    studio.api("GET", "/api/projects")
                    break
                except (AssertionError, OSError):
                    if time.monotonic() > deadline:
                        raise RuntimeError("Label Studio did not start in time") from None
                    time.sleep(2)
            yield studio
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            log.close()
