"""labelloop.monitor."""

__all__: list[str] = []
