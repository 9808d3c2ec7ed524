"""labelloop.scale."""

__all__: list[str] = []
