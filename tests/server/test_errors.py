"""labelloop.server.errors: hand-made 422s in the validation-error shape FastAPI declares."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from labelloop.server.errors import unprocessable, validation_detail


def test_a_detail_is_one_entry_located_in_the_body_unless_told() -> None:
    assert validation_detail("name is missing") == [
        {"loc": ["body"], "msg": "name is missing", "type": "value_error"}
    ]
    located = validation_detail("size must be 96", "query", "size")
    assert located[0]["loc"] == ["query", "size"]


def test_unprocessable_is_a_422_carrying_that_detail() -> None:
    error = unprocessable("limit too large", "query", "limit", 0)
    detail: object = error.detail
    assert error.status_code == 422
    assert detail == [
        {"loc": ["query", "limit", 0], "msg": "limit too large", "type": "value_error"}
    ]


def test_a_raised_unprocessable_reaches_the_client_in_the_same_shape_as_fastapis_own() -> None:
    app = FastAPI()

    @app.get("/size")
    def size(n: int) -> int:
        if n > 3:
            raise unprocessable(f"n must be at most 3, got {n}", "query", "n")
        return n

    client = TestClient(app)
    ours = client.get("/size", params={"n": 5})
    theirs = client.get("/size", params={"n": "five"})
    assert ours.status_code == theirs.status_code == 422
    assert ours.json()["detail"] == [
        {"loc": ["query", "n"], "msg": "n must be at most 3, got 5", "type": "value_error"}
    ]
    assert theirs.json()["detail"][0]["loc"] == ["query", "n"]
