"""The simulator's command line: `python -m simulator`, and `penctl sim`, which delegates here.

It runs the simulated pen in real time behind a pty or a TCP port until SIGINT or SIGTERM, and
prints exactly one line, `listening: <path-or-url>`, when a host can connect. A bad option,
scenario, events file or port is refused before anything starts, with exit code 2. The options
and messages are the same under either name; each message starts with the name it was run as.
Like the rest of the simulator, this imports nothing of `controller` (ARCHITECTURE.md §1).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.scenario import Scenario
    from simulator.server import Server

PROG = "python -m simulator"
# The control socket's actions (simulator/control.py; listed here so --help needs no import).
CTL_ACTIONS = (
    "button",
    "pull_cartridge",
    "seat_cartridge",
    "raise",
    "clear",
    "set",
    "cut_link",
    "restore_link",
    "reboot",
    "inject",
    "status",
)

DESCRIPTION = (
    "Run the simulated pen firmware in real time. It prints exactly one line, "
    "'listening: <path-or-url>', when a host can connect (open it with pyserial, e.g. "
    "serial_for_url(...)), and runs until SIGINT or SIGTERM. docs/simulator.md describes the "
    "model, the scenario language and the events file."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options, on `parser` (its own, or penctl's `sim` subcommand)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--pty-link",
        metavar="PATH",
        type=Path,
        help="serve on a pty and make PATH a symlink to it, stable for the run (default: a pty, "
        "printed as /dev/pts/N)",
    )
    where.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="serve on TCP for socket://HOST:PORT URLs (port 0: any free port; one host at a time)",
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE|NAME",
        help="a scenario TOML file, or the name of a bundled one (see --list-scenarios)",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="random seed (overrides the scenario's; default 0)"
    )
    parser.add_argument(
        "--events",
        metavar="FILE",
        type=Path,
        help="append one JSON object a line per firmware event, with t_ns from time.monotonic_ns()",
    )
    parser.add_argument(
        "--cartridge-serial",
        metavar="SERIAL",
        help="seat a fresh cartridge with this serial (default: the scenario's, or CART-0001); "
        "a host that journals sessions refuses a serial it has seen run (S8)",
    )
    parser.add_argument(
        "--control",
        metavar="PATH",
        type=Path,
        help="open a control socket at PATH: `ctl PATH ACTION` (or JSON lines) presses the "
        "button, pulls a cartridge, raises a fault cause, cuts the link... while the pen runs",
    )
    parser.add_argument(
        "--list-scenarios", action="store_true", help="list the bundled scenarios and exit"
    )
    commands = parser.add_subparsers(dest="sim_command", metavar="ctl")
    ctl = commands.add_parser(
        "ctl",
        help="send one action to a running simulator's control socket",
        description="Send one action to the control socket of a running simulator (--control) "
        "and print its answer. Exit 0 when it was applied, 1 when refused. Actions: "
        + ", ".join(CTL_ACTIONS)
        + ". Parameters are KEY=VALUE, VALUE read as JSON when it parses (50, true, "
        '{"action": "drop"}), else as text: `ctl /tmp/pen.ctl raise cause=heat`, '
        "`ctl /tmp/pen.ctl set battery_pct=20`.",
    )
    ctl.add_argument("socket", metavar="PATH", type=Path, help="the --control socket")
    ctl.add_argument("action", metavar="ACTION", help="one of: " + ", ".join(CTL_ACTIONS))
    ctl.add_argument("params", metavar="KEY=VALUE", nargs="*", help="the action's parameters")


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m simulator [options]`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


def run(args: argparse.Namespace, prog: str = PROG) -> int:
    """Do what the parsed options say: 0 after a listing or a clean stop, 2 when refused."""
    from simulator.scenario import ScenarioError, list_scenarios, load_scenario

    if getattr(args, "sim_command", None) == "ctl":
        return _control(args, prog)
    if args.list_scenarios:
        for name, description in list_scenarios():
            print(f"{name:24} {description}")
        return 0
    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        return _refuse(
            prog,
            f"{exc}. The simulator did not start; correct the scenario and run again "
            "(docs/simulator.md describes the language).",
        )
    for warning in scenario.warnings if scenario is not None else ():
        print(f"{prog}: warning: {warning}", file=sys.stderr)
    tcp = None
    if args.tcp is not None:
        tcp = _host_and_port(args.tcp)
        if tcp is None:
            return _refuse(
                prog,
                f"--tcp {args.tcp!r} is not HOST:PORT; give e.g. 127.0.0.1:5555 "
                "(port 0 picks a free one). The simulator did not start.",
            )
    return _serve(args, scenario, tcp, prog)


def _control(args: argparse.Namespace, prog: str) -> int:
    """`ctl PATH ACTION [KEY=VALUE ...]`: one request, its answer printed; 0 applied, 1 refused."""
    import json

    from simulator.control import request

    message: dict[str, object] = {"action": args.action}
    for item in args.params:
        key, sep, text = item.partition("=")
        if not sep or not key:
            return _refuse(prog, f"{item!r} is not KEY=VALUE (e.g. cause=heat, battery_pct=20)")
        try:
            message[key] = json.loads(text)
        except json.JSONDecodeError:
            message[key] = text
    try:
        answer = request(args.socket, message)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return _refuse(
            prog,
            f"cannot reach a simulator's control socket at {args.socket}: {reason}; start one "
            "with `penctl sim --control PATH`",
        )
    print(json.dumps(answer))
    return 0 if answer.get("ok") else 1


def _refuse(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return 2


def _host_and_port(text: str) -> tuple[str, int] | None:
    """`HOST:PORT` (an IPv6 host may be bracketed), or None when `text` is not of that form."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        return None
    return host.strip("[]"), int(port_text)


def _serve(
    args: argparse.Namespace, scenario: Scenario | None, tcp: tuple[str, int] | None, prog: str
) -> int:
    """Build the pen, its events file and its port; serve until a signal; close in reverse."""
    from firmware_bridge.clock import RealClock
    from simulator.control import ControlError, ControlPort
    from simulator.events import EventLog
    from simulator.pen import SimulatedPen
    from simulator.server import Server
    from simulator.transport.pty import PtyError, PtyPort
    from simulator.transport.tcp import TcpError, TcpPort

    with contextlib.ExitStack() as close_later:
        events = None
        if args.events is not None:
            try:
                events = EventLog(args.events)
            except OSError as exc:
                return _refuse(
                    prog,
                    f"cannot open the events file {args.events}: {exc.strerror}; "
                    "choose a writable path. The simulator did not start.",
                )
            close_later.callback(events.close)
        clock = RealClock()
        pen = SimulatedPen(
            clock, scenario=scenario, seed=args.seed, keep_events=False, **_cartridge(args)
        )
        close_later.callback(pen.close)
        if events is not None:
            pen.add_listener(events)
        try:
            port = TcpPort(pen, *tcp) if tcp is not None else PtyPort(pen, args.pty_link)
        except (PtyError, TcpError) as exc:
            return _refuse(prog, f"{exc}. The simulator did not start.")
        close_later.callback(port.close)
        also = []
        if args.control is not None:
            try:
                control = ControlPort(pen, args.control)
            except ControlError as exc:
                return _refuse(prog, f"{exc}. The simulator did not start.")
            close_later.callback(control.close)
            also.append(control)
        server = Server(clock, port, also)
        close_later.callback(server.close)
        _serve_until_signalled(server, port.url)
    return 0


def _serve_until_signalled(server: Server, url: str) -> None:
    """Announce `url` and run the server until SIGINT or SIGTERM; put the handlers back."""

    def _stop(signum: int, frame: object) -> None:
        server.stop()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.set_wakeup_fd(server.wake_fd, warn_on_full_buffer=False)
    try:
        print(f"listening: {url}", flush=True)
        server.run()
    finally:
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cartridge(args: argparse.Namespace) -> dict[str, object]:
    """`--cartridge-serial`: a fresh cartridge like the default one, with that serial."""
    serial = getattr(args, "cartridge_serial", None)
    if not serial:
        return {}
    from simulator.config import DEFAULT_CARTRIDGE

    return {"cartridge": DEFAULT_CARTRIDGE.replace(serial=serial[:16])}
