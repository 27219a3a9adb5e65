"""`penctl run`: the practitioner's entry point, on the bundled simulator unless told otherwise.

Until the console lands this identifies the pen, over the same path the console will use: the
simulator in its own process, a real pty, pyserial, the protocol handshake.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="connect to the pen (the bundled simulator by default) and show what it reports",
        description="Start the bundled pen simulator in its own process (or use --port), "
        "connect through a real pty with pyserial, and identify the pen.",
    )
    parser.add_argument(
        "--port", metavar="URL", help="a real pen's port instead of the bundled simulator"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from controller.commands.identify import describe
    from controller.simproc import SimulatorError, simulator_process
    from firmware_bridge.handshake import HandshakeError, identify
    from firmware_bridge.transport import PortError, open_port

    try:
        if args.port:
            with open_port(args.port) as port:
                identity = identify(port)
            where = args.port
        else:
            with simulator_process() as path, open_port(path) as port:
                identity = identify(port)
            where = f"the bundled simulator (its own process, pty {path})"
    except (PortError, HandshakeError, SimulatorError) as exc:
        print(f"penctl run: {exc}", file=sys.stderr)
        return 1
    print(f"Connected to {where}.")
    print("\n".join(describe(identity)))
    print("The session console is not part of this release yet; the pen was left idle.")
    return 0
