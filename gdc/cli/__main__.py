"""`python -m gdc.cli`."""

import sys

from . import main

sys.exit(main())
