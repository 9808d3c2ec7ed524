"""Request bodies are bounded before anything reads them.

:class:`BodyLimit` is ASGI middleware in front of the whole app: a request
whose ``Content-Length`` is over its route's limit is answered 413 at once,
without reading a byte; a chunked body is counted as it streams in and cut
off with 413 as soon as it passes the limit. JSON routes get a small limit,
the image upload the configured upload limit (plus room for the multipart
envelope). An upload without any credentials is answered 401 before its body
is read, so an anonymous client cannot make the server spool files.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

__all__ = ["JSON_BODY_LIMIT", "MULTIPART_ROOM", "BodyLimit"]

JSON_BODY_LIMIT = 1 << 20
"""The largest body a JSON route reads (1 MiB: a detection label of thousands of boxes)."""

MULTIPART_ROOM = 64 << 10
"""Bytes allowed beyond the upload limit for the multipart envelope."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLargeError(Exception):
    pass


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(eq=False)
class BodyLimit:
    """Bound every request body by its route.

    Args:
        app: the ASGI app.
        upload_paths: paths (POST) that take an image upload.
        upload_limit: the largest image an upload may be, in bytes.
        json_limit: the largest body of any other request.
    """

    app: ASGIApp
    _: KW_ONLY
    upload_paths: frozenset[str]
    upload_limit: int
    json_limit: int = JSON_BODY_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        upload = scope["path"] in self.upload_paths
        limit = self.upload_limit + MULTIPART_ROOM if upload else self.json_limit
        if upload and b"authorization" not in headers and b"cookie" not in headers:
            await _answer(send, 401, "not signed in: log in at /login or send a bearer token")
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _answer(send, 400, "the Content-Length header is not a number")
                return
            if size > limit:
                await _answer(send, 413, f"the request body is over the limit of {limit} bytes")
                return
        received = 0
        started = over = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLargeError
            return message

        async def watched(message: Message) -> None:
            # Whatever the app answers to a body cut off (FastAPI says 400,
            # "error parsing the body"), the client is told it was too large.
            nonlocal started
            if over:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _answer(send, 413, f"the request body is over the limit of {limit} bytes")
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLargeError:
            if not started:
                started = True
                await _answer(send, 413, f"the request body is over the limit of {limit} bytes")
