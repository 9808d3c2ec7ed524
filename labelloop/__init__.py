"""labelloop: self-hosted active learning for computer-vision labeling."""

__version__ = "0.1.0"

__all__ = ["__version__"]
