"""`penctl sim`: the simulator's own command line (`python -m simulator`) under penctl.

The options, the refusals and the run loop live in `simulator.cli`; this module only registers
them as a penctl subcommand, so both take the same options and behave alike.
"""

from __future__ import annotations

import argparse
import functools

from simulator import cli


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the pen simulator on a pty or a TCP port (for the console, tests, training)",
        description=cli.DESCRIPTION,
    )
    cli.add_arguments(parser)
    parser.set_defaults(handler=functools.partial(cli.run, prog=parser.prog))
