"""schemathesis over every operation of the served OpenAPI: no 5xx, every body as declared.

A live ``labelloop serve`` (a subprocess on a loopback port) is fuzzed by the
``schemathesis`` command line, once with an annotator's API token and once
with an admin's: schema examples, the coverage phase (boundaries, wrong
types, missing fields) and random fuzzing, a bounded number of cases per
operation and a bounded time. The checks: no server error, and every
response body of a documented status matches its declared schema.

Two operations are left out because they end the run's own credentials
(logging out with a token revokes it; so does deleting one's token), which
would leave the rest of the run testing nothing but 401s.

The same run by hand:

    .venv/bin/schemathesis run http://127.0.0.1:8000/openapi.json \\
        -H "Authorization: Bearer $TOKEN" -c not_a_server_error,response_schema_conformance \\
        --phases examples,coverage,fuzzing -n 25 --seed 1 \\
        --exclude-path /api/auth/logout --exclude-path /api/tokens/{token_id}
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelloop.loop import Workspace
from tests.server.conftest import LiveServer, make_project, start_server

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
if not SCHEMATHESIS.exists():
    pytest.skip("schemathesis is not installed (pip install -e '.[dev]')", allow_module_level=True)

MAX_EXAMPLES = 25
MAX_SECONDS = 120


class Served:
    def __init__(self, server: LiveServer, tokens: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = make_project(tmp_path_factory.mktemp("fuzz") / "proj", per_class=3, retrain_every=1000)
    ws = Workspace.open(root)
    try:
        tokens = {}
        for name in ("ann", "admin"):
            user = ws.store.people.user(name)
            tokens[name] = ws.store.people.issue(user.id, "token", name="schemathesis")[0]
    finally:
        ws.close()
    server = start_server(root)
    yield Served(server, tokens)
    server.stop()


# The annotator runs first: the admin's run may disable or demote accounts.
@pytest.mark.parametrize("who", ["ann", "admin"])
def test_every_operation_answers_without_a_server_error_and_as_declared(
    served: Served, who: str, tmp_path: Path
) -> None:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{served.server.url}/openapi.json",
        "-H",
        f"Authorization: Bearer {served.tokens[who]}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--exclude-path",
        "/api/auth/logout",
        "--exclude-path",
        "/api/tokens/{token_id}",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 300,
        check=False,
        cwd=tmp_path,  # its cache folder (.schemathesis/) stays out of the repository
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
