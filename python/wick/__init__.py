"""Pure-Python reader of the wick container format (io/FORMAT.md, version 2.1)."""

from .random_access import Entry, Reader
from .reader import FormatError, load, load_with_metadata

__version__ = "0.1.0"
__all__ = ["Entry", "FormatError", "Reader", "load", "load_with_metadata", "__version__"]
