"""``python -m retrograd``: the command line (see retrograd.cli)."""
import sys

from .cli import main

sys.exit(main())
