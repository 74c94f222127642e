"""`python3 -m wick`: see wick.cli."""

import sys

from .cli import main

sys.exit(main())
