"""Login throttling: guessing one account's password waits longer and longer; others sign in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelloop.server.throttle import LoginThrottle
from tests.server.conftest import PASSWORD


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_after_the_free_failures_and_a_success_resets() -> None:
    clock = _Clock()
    throttle = LoginThrottle(free=3, free_per_address=100, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("ann", "1.2.3.4") == 0
        throttle.failed("ann", "1.2.3.4")
    assert throttle.retry_after("ANN", "5.6.7.8") == 1.0  # by account, whatever the address
    throttle.failed("ann", "1.2.3.4")
    assert throttle.retry_after("ann", "1.2.3.4") == 2.0
    clock.now += 2.0
    assert throttle.retry_after("ann", "1.2.3.4") == 0
    throttle.succeeded("ann")
    assert throttle.retry_after("ann", "1.2.3.4") == 0
    many = LoginThrottle(free=100, free_per_address=2, clock=clock)
    for name in ("a", "b"):
        many.failed(name, "9.9.9.9")
    assert many.retry_after("c", "9.9.9.9") == 1.0  # by address, whatever the account


def test_guessing_a_password_is_answered_429_and_other_users_sign_in(
    app_client: TestClient,
) -> None:
    clock = _Clock()
    app_client.app.state.login_throttle = LoginThrottle(clock=clock)  # type: ignore[attr-defined]
    wrong = {"username": "ann", "password": "guess"}
    for _ in range(5):
        assert app_client.post("/api/auth/login", json=wrong).status_code == 401
    right = {"username": "ann", "password": PASSWORD}
    refused = app_client.post("/api/auth/login", json=right)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    other = app_client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert other.status_code == 200
    clock.now += 1.5
    assert app_client.post("/api/auth/login", json=right).status_code == 200
