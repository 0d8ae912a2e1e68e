"""Entry point of ``python -m central.sts``."""

import sys

from .cli import main

sys.exit(main())
