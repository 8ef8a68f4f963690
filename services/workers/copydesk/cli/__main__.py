"""``python -m copydesk.cli``: the ``copydesk`` command."""

import sys

from copydesk.cli import main

sys.exit(main())
