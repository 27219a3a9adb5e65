"""The `penctl` command line: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

# Each module registers its own subcommand; order here is the order in `penctl --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "controller.commands.console",
    "controller.commands.run",
    "controller.commands.identify",
    "controller.commands.protocol",
    "controller.commands.conformance",
    "controller.commands.sim",
    "controller.commands.session",
    "controller.commands.profiles",
    "controller.commands.journal",
    "controller.commands.audit",
)

Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    try:
        return version("penctl")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="penctl",
        description="Session controller, pen simulator and audit tools for microneedling pens.",
    )
    parser.add_argument("--version", action="version", version=f"penctl {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`penctl audit show | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
