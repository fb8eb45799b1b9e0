"""``python -m bot.cli``: the `fwbot` command."""

import sys

from .main import main

sys.exit(main())
