"""labelloop.learners."""

__all__: list[str] = []
