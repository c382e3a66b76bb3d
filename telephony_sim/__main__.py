"""``python -m telephony_sim``: see telephony_sim.cli."""

import sys

from telephony_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
