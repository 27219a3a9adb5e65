"""`penctl conformance`: check a pen, simulated or real, against docs/protocol.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_bridge.conformance import CaseResult, KitRun


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="run the protocol conformance kit against a pen (docs/conformance.md)",
        description="Run the pen-side rules of docs/protocol.md against the pen on a port and "
        "print one line per case. It starts and stops the motor at the pen's shallowest depth "
        "and slowest speed: do not run it on a pen in use on a person. Exit status 0 when no case "
        "failed, 1 when one did, 2 when the kit could not run.",
    )
    parser.add_argument(
        "--port",
        required=True,
        metavar="URL",
        help="the pen's port: /dev/ttyUSB0, a simulator pty link, socket://HOST:PORT",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        type=Path,
        help="write JUnit XML to FILE and JSON beside it (FILE with the suffix .json)",
    )
    parser.add_argument(
        "--only",
        metavar="SECTION",
        action="append",
        default=[],
        help="run only the cases of a section (7.2, §5) or a case id (lease-watchdog); repeatable",
    )
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help="skip, with the reason, the cases that need a person (power cycle, button, cartridge)",
    )
    parser.add_argument(
        "--tolerance-ms",
        type=float,
        default=30.0,
        metavar="MS",
        help="timing slack for the link's latency and jitter (default 30)",
    )
    parser.set_defaults(handler=_conformance)


class ConsoleOperator:
    """Asks the person at the terminal; an empty line means done, 's' or end of input skips."""

    def perform(self, act: str, instruction: str) -> bool:
        print(
            f"\n[{act}] Please {instruction} (or type s and Enter to skip): ",
            end="",
            file=sys.stderr,
        )
        sys.stderr.flush()
        line = sys.stdin.readline()
        return bool(line) and line.strip().lower() != "s"


def _conformance(args: argparse.Namespace) -> int:
    from firmware_bridge.clock import RealClock
    from firmware_bridge.conformance import NoOperator, SelectionError, Settings, run_kit, select
    from firmware_bridge.conformance.report import table
    from firmware_bridge.transport import PortError, open_port

    if args.tolerance_ms < 0:
        print("penctl conformance: --tolerance-ms must be 0 or more", file=sys.stderr)
        return 2
    try:
        select(args.only)
        port = open_port(args.port)
    except (SelectionError, PortError) as exc:
        print(f"penctl conformance: {exc}", file=sys.stderr)
        return 2
    operator = NoOperator() if args.non_interactive else ConsoleOperator()
    settings = Settings(tolerance_ms=args.tolerance_ms)
    try:
        run = run_kit(
            port, RealClock(), operator, settings=settings, only=args.only, on_result=_progress
        )
    finally:
        port.close()
    print(table(run.results))
    if args.report is not None:
        try:
            written = write_reports(args.report, run)
        except OSError as exc:
            print(
                f"penctl conformance: could not write the report to {args.report} ({exc}); "
                "choose a writable path",
                file=sys.stderr,
            )
            return 2
        print(f"reports: {', '.join(map(str, written))}")
    return 0 if run.passed else 1


def write_reports(path: Path, run: KitRun) -> list[Path]:
    """JUnit XML at `path` and JSON beside it; the paths written."""
    from firmware_bridge.conformance.report import as_json, junit_xml

    json_path = path.with_suffix(".json")
    if json_path == path:
        json_path = path.with_name(path.name + ".report.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(run), encoding="utf-8")
    json_path.write_text(json.dumps(as_json(run), indent=2) + "\n", encoding="utf-8")
    return [path, json_path]


def _progress(result: CaseResult) -> None:
    print(f"  {result.outcome.value:<7} {result.id}", file=sys.stderr)
