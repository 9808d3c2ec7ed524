"""labelloop.strategies."""

__all__: list[str] = []
