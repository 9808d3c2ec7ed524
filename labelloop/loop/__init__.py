"""labelloop.loop."""

__all__: list[str] = []
