"""`python -m twinbench.cli`: the console script without its installed entry point."""

import sys

from twinbench.cli import main

sys.exit(main())
