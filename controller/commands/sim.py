"""`penctl sim`: run the simulated pen behind a pty or a TCP port until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the pen simulator on a pty or a TCP port (for the console, tests, training)",
        description="Run the simulated pen firmware in real time. It prints exactly one line, "
        "'listening: <path-or-url>', when a host can connect (open it with pyserial, e.g. "
        "serial_for_url(...)), and runs until SIGINT or SIGTERM. docs/simulator.md describes the "
        "model, the scenario language and the events file.",
    )
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
        "--list-scenarios", action="store_true", help="list the bundled scenarios and exit"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from simulator.scenario import ScenarioError, list_scenarios, load_scenario

    if args.list_scenarios:
        for name, description in list_scenarios():
            print(f"{name:24} {description}")
        return 0
    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        print(
            f"penctl sim: {exc}. The simulator did not start; correct the scenario and run "
            "again (docs/simulator.md describes the language).",
            file=sys.stderr,
        )
        return 2
    if args.tcp is not None:
        host, sep, port_text = args.tcp.rpartition(":")
        if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
            print(
                f"penctl sim: --tcp {args.tcp!r} is not HOST:PORT; give e.g. 127.0.0.1:5555 "
                "(port 0 picks a free one). The simulator did not start.",
                file=sys.stderr,
            )
            return 2
        return _serve(args, scenario, tcp=(host.strip("[]"), int(port_text)))
    return _serve(args, scenario, tcp=None)


def _serve(args: argparse.Namespace, scenario: object, tcp: tuple[str, int] | None) -> int:
    import signal

    from firmware_bridge.clock import RealClock
    from simulator.events import EventLog
    from simulator.pen import SimulatedPen
    from simulator.scenario import Scenario
    from simulator.server import Server
    from simulator.transport.pty import PtyError, PtyPort
    from simulator.transport.tcp import TcpError, TcpPort

    assert scenario is None or isinstance(scenario, Scenario)
    events = None
    if args.events is not None:
        try:
            events = EventLog(args.events)
        except OSError as exc:
            print(
                f"penctl sim: cannot open the events file {args.events}: {exc.strerror}; "
                "choose a writable path. The simulator did not start.",
                file=sys.stderr,
            )
            return 2
    clock = RealClock()
    pen = SimulatedPen(clock, scenario=scenario, seed=args.seed)
    if events is not None:
        pen.add_listener(events)
    try:
        port = TcpPort(pen, *tcp) if tcp is not None else PtyPort(pen, args.pty_link)
    except (PtyError, TcpError) as exc:
        print(f"penctl sim: {exc}. The simulator did not start.", file=sys.stderr)
        pen.close()
        if events is not None:
            events.close()
        return 2
    server = Server(clock, port)

    def _stop(signum: int, frame: object) -> None:
        server.stop()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.set_wakeup_fd(server.wake_fd, warn_on_full_buffer=False)
    try:
        print(f"listening: {port.url}", flush=True)
        server.run()
    finally:
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        port.close()
        pen.close()
        if events is not None:
            events.close()
    return 0
