"""`python -m simulator`: the simulated pen on a pty or a TCP port (simulator.cli)."""

import sys

from simulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
