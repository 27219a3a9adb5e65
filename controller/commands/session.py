"""`penctl session run`: a scripted session (docs/sessions.md) on a pen or the bundled simulator.

Without --port the bundled simulator runs in its own process on a pty (real time, the path the
console takes); with --fast it runs in this process on a virtual clock, so an hour-long script
takes seconds. That in-process pen is why this command, besides `penctl sim`, may import the
simulator (pyproject.toml's import contracts say so).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controller.commands.identify import add_trace_option


def register(subparsers: argparse._SubParsersAction) -> None:
    session = subparsers.add_parser(
        "session",
        help="run a scripted treatment session (engineers, automation)",
        description="Scripted sessions: the whole workflow from a TOML file (docs/sessions.md).",
    )
    commands = session.add_subparsers(dest="session_command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a session script",
        description="Run a session script through the controller, exactly as the console would. "
        "Exit 0 when the session ends as the script expects; 1 for a bad script or option, 2 "
        "for an action refused, 3 for an alarm, 4 when the pen cannot be reached.",
    )
    run.add_argument("--script", required=True, metavar="FILE", help="the session script (TOML)")
    run.add_argument("--journal", required=True, metavar="DIR", help="the journal directory")
    run.add_argument("--port", metavar="URL", help="a pen's port (default: the bundled simulator)")
    run.add_argument(
        "--fast",
        action="store_true",
        help="virtual time on the in-process simulator (not with --port)",
    )
    run.add_argument("--operator", metavar="ID", help="who runs it (default: the script's)")
    run.add_argument("--clinic-dir", metavar="DIR", help="the clinic's profiles and policy")
    run.add_argument("--key-dir", metavar="DIR", help="where the journal's signing key lives")
    run.add_argument(
        "--witness",
        metavar="DIR",
        help="a directory outside the journal (another disk, a removable medium) that receives "
        "a copy of each signed head (docs/journal.md §4)",
    )
    run.add_argument("--seed", type=int, default=1, help="the simulator's seed with --fast")
    add_trace_option(run)
    run.set_defaults(handler=_run)
    session.set_defaults(handler=lambda args: _usage(session))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 1


def _run(args: argparse.Namespace) -> int:
    from controller.journal import JournalError
    from controller.script import ScriptError, load_script
    from controller.script_run import SCRIPT_ERROR
    from profiles import LibraryError, load_library

    if args.fast and args.port:
        return _fail("--fast runs the bundled simulator in virtual time; leave out --port")
    try:
        script = load_script(args.script)
        library = load_library(args.clinic_dir)
    except (ScriptError, LibraryError) as exc:
        return _fail(str(exc), SCRIPT_ERROR)
    operator = args.operator or script.operator or "op:script"
    try:
        if args.fast:
            return _run_fast(args, script, library, operator)
        return _run_real(args, script, library, operator)
    except JournalError as exc:
        return _fail(str(exc), SCRIPT_ERROR)


def _run_fast(args: argparse.Namespace, script: Any, library: Any, operator: str) -> int:
    from controller.runner import VirtualRunner
    from controller.script_run import ScriptRun, VirtualPace
    from firmware_bridge import open_pen
    from firmware_bridge.clock import VirtualClock
    from simulator.config import DEFAULT_CARTRIDGE
    from simulator.pen import SimulatedPen
    from simulator.transport.inprocess import publish, unpublish

    clock = VirtualClock(wall_start_ns=_virtual_wall_start(Path(args.journal)))
    pen = SimulatedPen(
        clock, seed=args.seed, cartridge=DEFAULT_CARTRIDGE.replace(serial=_fresh_serial())
    )
    name = f"session-{id(pen)}"
    url = publish(name, pen)
    try:
        with _controller(
            args, library, operator, clock, lambda: open_pen(url, clock=clock, trace=args.trace)
        ) as controller:
            runner = VirtualRunner(controller, clock)
            run = ScriptRun(script, controller, VirtualPace(runner), press_button=pen.press_button)
            return run.run()
    finally:
        unpublish(name)


def _run_real(args: argparse.Namespace, script: Any, library: Any, operator: str) -> int:
    from controller.runner import ThreadRunner
    from controller.script_run import NO_PEN, RealPace, ScriptRun
    from controller.simproc import SimulatorError, simulator_process
    from firmware_bridge import open_pen
    from firmware_bridge.clock import RealClock

    clock = RealClock()
    try:
        start = functools.partial(simulator_process, ["--cartridge-serial", _fresh_serial()])
        with (
            _port(args.port, start) as port,
            _controller(
                args, library, operator, clock, lambda: open_pen(port, trace=args.trace)
            ) as controller,
        ):
            runner = ThreadRunner(controller)
            try:
                return ScriptRun(script, controller, RealPace()).run()
            finally:
                runner.stop()
    except SimulatorError as exc:
        return _fail(str(exc), NO_PEN)


@contextmanager
def _port(url: str | None, start_simulator: Callable[[], Any]) -> Iterator[str]:
    if url:
        yield url
        return
    with start_simulator() as path:
        yield path


@contextmanager
def _controller(
    args: argparse.Namespace, library: Any, operator: str, clock: Any, open_pen: Callable[[], Any]
) -> Iterator[Any]:
    from controller.core import Controller
    from controller.journal import JournalWriter

    journal = JournalWriter.open(
        Path(args.journal), key_dir=args.key_dir, clock=clock, witness=args.witness
    )
    controller = Controller(
        clock=clock,
        journal=journal,
        library=library,
        operator=operator,
        open_pen=open_pen,
        software_version=_software_version(),
    )
    try:
        yield controller
    finally:
        if controller.pen is not None:
            with contextlib.suppress(Exception):
                controller.pen.stop()
            controller.pen.close()
        journal.close()


def _virtual_wall_start(journal: Path) -> int:
    """Now, or just after the journal's newest record if a virtual run went past now: journal
    times never go backwards, however fast an earlier virtual session ran."""
    from datetime import datetime

    from controller.history import read_history

    now_ns = time.time_ns()
    last = read_history(journal).last_utc
    if last is None:
        return now_ns
    last_ns = int(datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() * 1e9)
    return max(now_ns, last_ns + 1_000_000_000)


def _fresh_serial() -> str:
    """A new cartridge from a sealed pack for each run of the bundled simulator (S8)."""
    return f"SIM-{time.time_ns() // 1000 % 10**12:012d}"


def _software_version() -> str:
    from controller.cli import _version

    return f"penctl {_version()}"


def _fail(message: str, code: int = 1) -> int:
    print(f"penctl session run: {message}", file=sys.stderr)
    return code
