"""A project's saved Label Studio connection, and the few REST calls labelloop makes."""

from __future__ import annotations

import base64
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labelloop.loop.labelstudio.errors import LabelStudioError
from labelloop.store import ExternalSource

__all__ = [
    "CONNECTION_FILE",
    "SYSTEM",
    "Connection",
    "LabelStudioClient",
    "basic_auth_header",
]

log = logging.getLogger("labelloop.labelstudio")

SYSTEM = "labelstudio"
CONNECTION_FILE = "labelstudio.json"
"""The project folder's record of its Label Studio (URL, token, project): owner-only."""


@dataclass
class Connection:
    """Which Label Studio a project works with: saved in the project folder, owner-only.

    Attributes:
        url: Label Studio's base URL (``http://host:8080``).
        token: an API token of a Label Studio user who may change the project.
        project: the Label Studio project id.
        label_config: the project's label config XML, as last sent.
    """

    url: str
    token: str
    project: int
    label_config: str = ""

    @classmethod
    def load(cls, root: Path) -> Connection | None:
        """The saved connection, or None when the project has none (or it is unreadable)."""
        path = root / CONNECTION_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                url=str(data["url"]),
                token=str(data["token"]),
                project=int(data["project"]),
                label_config=str(data.get("label_config", "")),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return None

    def save(self, root: Path) -> None:
        """Write the file atomically, readable by its owner only (it holds a token)."""
        path = root / CONNECTION_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out, indent=1)
        os.replace(tmp, path)

    @property
    def source(self) -> ExternalSource:
        """The key links of this Label Studio project are stored under."""
        return ExternalSource(SYSTEM, str(self.project))


class LabelStudioClient:
    """The few calls of Label Studio's REST API labelloop makes (token auth, JSON)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON call; :class:`LabelStudioError` with Label Studio's answer on failure."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                text = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            raise LabelStudioError(
                f"Label Studio answered {exc.code} to {method} {path}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabelStudioError(f"cannot reach Label Studio at {self.url}: {exc}") from None
        return json.loads(text) if text else None

    def fetch(self, url: str, limit: int) -> bytes:
        """Bytes of a file Label Studio serves (or any http(s) URL), at most ``limit``.

        The token is sent only to Label Studio itself.
        """
        parts = urlsplit(url)
        if not parts.scheme:
            url = self.url + url
            parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise LabelStudioError(f"cannot fetch {url!r}: only http(s) URLs are fetched")
        headers = {}
        if url.startswith(self.url + "/"):
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                data = answer.read(limit + 1)
        except urllib.error.HTTPError as exc:
            raise LabelStudioError(f"fetching {url} failed: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabelStudioError(f"fetching {url} failed: {exc}") from None
        if len(data) > limit:
            raise LabelStudioError(f"{url} is larger than {limit} bytes")
        return bytes(data)

    def tasks(self, project: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every task of a project, page by page."""
        page = 1
        while True:
            try:
                answer = self.request(
                    "GET", f"/api/tasks?project={project}&page={page}&page_size={page_size}"
                )
            except LabelStudioError as exc:
                if "404" in str(exc):  # past the last page
                    return
                raise
            tasks = answer.get("tasks", []) if isinstance(answer, dict) else answer
            if not tasks:
                return
            yield from tasks
            if isinstance(answer, dict) and page * page_size >= int(answer.get("total", 0)):
                return
            page += 1


def basic_auth_header(user: str, secret: str) -> str:
    """The ``Authorization`` value of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
