"""Hostile bodies against a live server: refused by size before they are read."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from labelloop.server.limits import JSON_BODY_LIMIT
from tests.server.conftest import LiveServer, login


def _chunks(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        sent += size
        yield b"x" * size


def _rss_mb(server: LiveServer) -> float:
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_oversized_bodies_are_refused_before_they_are_read(live_server: LiveServer) -> None:
    url = live_server.url
    before = _rss_mb(live_server)
    with httpx.Client(base_url=url, timeout=30) as client:
        # Declared too large: refused on the header alone (the body is never sent in full).
        big = client.post(
            "/api/auth/login",
            content=b"{" + b" " * (50 << 20) + b"}",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413 and str(JSON_BODY_LIMIT) in big.json()["detail"]
        # Streamed without a length: cut off once past the limit.
        streamed = client.post(
            "/api/auth/login",
            content=_chunks(8 << 20),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413
        # An anonymous upload is refused before its body is read.
        anonymous = client.post(
            "/api/items", files={"file": ("big.png", b"\x89PNG" + b"0" * (10 << 20), "image/png")}
        )
        assert anonymous.status_code == 401
        # Normal requests still work, from the same client.
        headers = login(client, "admin")
        assert client.get("/api/project").status_code == 200
        assert client.patch("/api/project/settings", json={"retrain_every": 9}, headers=headers)
    assert _rss_mb(live_server) - before < 100, "the server held a large body in memory"
