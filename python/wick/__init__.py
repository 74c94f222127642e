"""Pure-Python reader and writer of the wick container format (io/FORMAT.md, version 2.1)."""

from .random_access import Entry, Reader
from .reader import FormatError, load, load_with_metadata
from .sharded import ShardedReader, is_sharded_checkpoint, load_sharded
from .writer import ArgumentError, bfloat16_bits, save

__version__ = "0.1.0"
__all__ = ["ArgumentError", "Entry", "FormatError", "Reader", "bfloat16_bits", "load",
           "load_with_metadata", "save", "__version__"]
__all__ += ["ShardedReader", "is_sharded_checkpoint", "load_sharded"]
