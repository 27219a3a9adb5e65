"""`penctl run`: the practitioner's entry point, on the bundled simulator unless told otherwise.

Until the console lands this identifies the pen, over the same path the console will use: the
simulator in its own process, a real pty, pyserial, the pen link (PenClient).
"""

from __future__ import annotations

import argparse
import sys

from controller.commands.identify import add_trace_option


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
    add_trace_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from controller.commands.identify import describe, identify_pen
    from controller.simproc import SimulatorError, simulator_process
    from firmware_bridge.link import PenLinkError
    from firmware_bridge.link.trace import TraceError
    from firmware_bridge.transport import PortError

    try:
        if args.port:
            identity = identify_pen(args.port, args.trace)
            where = args.port
        else:
            with simulator_process() as path:
                identity = identify_pen(path, args.trace)
            where = f"the bundled simulator (its own process, pty {path})"
    except (PortError, PenLinkError, SimulatorError, TraceError) as exc:
        print(f"penctl run: {exc}", file=sys.stderr)
        return 1
    print(f"Connected to {where}.")
    print("\n".join(describe(identity)))
    print("The session console is not part of this release yet; the pen was left idle.")
    return 0
