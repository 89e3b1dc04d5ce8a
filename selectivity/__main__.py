"""``python -m selectivity``: the same as the ``selectivity`` command."""

import sys

from selectivity.cli import main

sys.exit(main())
