"""The one exception type of ingot."""

from ingot._C import Error  # noqa: F401  (a RuntimeError subclass defined by the bindings)

__all__ = ["Error"]
