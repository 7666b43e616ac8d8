"""``python -m imbalance_lab``: the ``imbalance-lab`` command."""

import sys

from .cli import main

sys.exit(main())
