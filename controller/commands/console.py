"""`penctl console`: the practitioners' console, on the bundled simulator unless told otherwise.

Without --port the bundled simulator starts in its own process on a pty (a fresh cartridge each
time), so `make run` opens the console on a working pen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from controller.commands.identify import add_trace_option

if TYPE_CHECKING:
    from controller.journal import JournalWriter
    from firmware_bridge.clock import TimeSource


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "console",
        help="the practitioners' console (Textual), on the bundled simulator by default",
        description="Run treatment sessions at the console (docs/console.md). Esc stops the "
        "needle and F1 is the e-stop, on every screen.",
    )
    parser.add_argument(
        "--port", metavar="URL", help="a pen's port (default: the bundled simulator)"
    )
    parser.add_argument(
        "--journal",
        metavar="DIR",
        help="the journal directory (default: $PENCTL_JOURNAL_DIR or the user's data directory)",
    )
    parser.add_argument(
        "--operator",
        metavar="ID",
        default="op:console",
        help="who is at the console (journaled with every action)",
    )
    parser.add_argument("--clinic-dir", metavar="DIR", help="the clinic's profiles and policy")
    parser.add_argument("--key-dir", metavar="DIR", help="where the journal's signing key lives")
    parser.add_argument(
        "--witness",
        metavar="DIR",
        help="a directory outside the journal (another disk, a removable medium) that receives "
        "a copy of each signed head, as with `penctl session run` (docs/journal.md §4)",
    )
    add_trace_option(parser)
    parser.set_defaults(handler=_console)


# A lone Esc (STOP) is told from the start of a key's escape sequence by waiting this long for
# more bytes; Textual's default is 100 ms. 25 ms keeps a local terminal unambiguous and makes STOP
# 75 ms sooner; over a slow link a split sequence reads as Esc, which stops: the safe side.
ESCDELAY_MS = "25"
# The interpreter hands the GIL to a waiting thread after this long (CPython's default: 5 ms).
# The console's drawing holds it in long stretches, and a stop key read by the input thread, the
# frame written for it and the owner's lease renewals each wait for it: 0.5 ms bounds each wait.
SWITCH_INTERVAL_S = 0.0005


def _console(args: argparse.Namespace) -> int:
    os.environ.setdefault("ESCDELAY", ESCDELAY_MS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    from controller.console.app import PenConsole
    from controller.core import Controller
    from controller.journal import JournalError
    from controller.journal.paths import resolve_journal_dir
    from controller.runner import ThreadRunner
    from controller.simproc import SimulatorError, simulator_process
    from firmware_bridge import open_pen
    from firmware_bridge.clock import RealClock
    from profiles import LibraryError, load_library

    try:
        library = load_library(args.clinic_dir)
    except LibraryError as exc:
        print(f"penctl console: {exc}", file=sys.stderr)
        return 1
    journal_dir = Path(resolve_journal_dir(args.journal))
    serial = f"SIM-{time.time_ns() // 1000 % 10**12:012d}"
    try:
        with contextlib.ExitStack() as stack:
            port = args.port or stack.enter_context(
                simulator_process(["--cartridge-serial", serial])
            )
            journal = open_journal(args, RealClock())
            stack.callback(journal.close)
            controller = Controller(
                clock=RealClock(),
                journal=journal,
                library=library,
                operator=args.operator,
                open_pen=lambda: open_pen(port, trace=args.trace),
            )
            runner = ThreadRunner(controller)
            stack.callback(runner.stop)
            stack.callback(_close_pen, controller)
            from controller import actions as act

            controller.submit(act.Connect())
            PenConsole(controller, journal_dir=journal_dir).run()
    except (SimulatorError, JournalError) as exc:
        print(f"penctl console: {exc}", file=sys.stderr)
        return 1
    return 0


def open_journal(args: argparse.Namespace, clock: TimeSource) -> JournalWriter:
    """The console's journal, as its options say: directory, signing key and witness."""
    from controller.journal import JournalWriter
    from controller.journal.paths import resolve_journal_dir

    return JournalWriter.open(
        resolve_journal_dir(args.journal), key_dir=args.key_dir, clock=clock, witness=args.witness
    )


def _close_pen(controller: object) -> None:
    pen = getattr(controller, "pen", None)
    if pen is not None:
        with contextlib.suppress(Exception):
            pen.stop()
        pen.close()
