"""`penctl identify`: which pen is on this port, what can it do, which cartridge is seated."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_bridge.client import PenIdentity


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "identify",
        help="identify the pen on a port: model, serial, firmware, limits, cartridge",
        description="Send HELLO and print what the pen reports. Changes nothing on the pen "
        "beyond the handshake (a HELLO discards any applied parameter set).",
    )
    parser.add_argument(
        "--port",
        required=True,
        metavar="URL",
        help="the pen's port: /dev/ttyUSB0, a simulator pty link, socket://HOST:PORT",
    )
    parser.add_argument("--json", action="store_true", help="print the reply as JSON")
    add_trace_option(parser)
    parser.set_defaults(handler=_identify)


def add_trace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="write every frame both ways to FILE as JSON lines (docs/link.md)",
    )


def identify_pen(port: str, trace: str | None) -> PenIdentity:
    """HELLO on `port` and what the pen says; raises PenLinkError, PortError or TraceError."""
    from firmware_bridge import open_pen
    from firmware_bridge.link import CommandFailed

    with open_pen(port, trace=trace) as pen:
        try:
            return pen.identify()
        except CommandFailed as exc:
            stats = pen.stats()
            bad = sum(stats["receive_errors"].values())
            raise CommandFailed(
                exc.command,
                f"{exc.why}. Received {stats['frames_in']} good and {bad} bad frames. Check the "
                "port path and the baud rate (115200), and that the pen is on",
            ) from None


def _identify(args: argparse.Namespace) -> int:
    from firmware_bridge.link import PenLinkError
    from firmware_bridge.link.trace import TraceError
    from firmware_bridge.transport import PortError

    try:
        identity = identify_pen(args.port, args.trace)
    except (PortError, PenLinkError, TraceError) as exc:
        print(f"penctl identify: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(as_json(identity)))
    else:
        print("\n".join(describe(identity)))
    return 0


def as_json(identity: PenIdentity) -> dict[str, object]:
    return {
        "identify": identity.identify.fields(),
        "cartridge": identity.cartridge.fields() if identity.cartridge else None,
        "link_errors": identity.link_errors,
    }


def _mm(micrometres: int) -> str:
    return f"{micrometres / 1000:.2f} mm"


def describe(identity: PenIdentity) -> list[str]:
    """The identity as a practitioner or engineer reads it: millimetres, names, dates."""
    pen = identity.identify
    lines = [
        f"Pen:        {pen.model} serial {pen.serial_number}, firmware {pen.firmware_version}, "
        f"protocol {pen.protocol_version}",
        f"Depth:      {_mm(pen.depth_min_um)} to {_mm(pen.depth_max_um)} "
        f"in steps of {_mm(pen.depth_step_um)}",
        f"Speed:      {pen.speed_min_sps} to {pen.speed_max_sps} strokes/s "
        f"in steps of {pen.speed_step_sps}",
        f"Lease:      {pen.lease_min_ms} to {pen.lease_max_ms} ms; "
        f"telemetry every {pen.telemetry_period_ms} ms",
    ]
    cart = identity.cartridge
    if cart is None:
        lines.append("Cartridge:  not reported (the pen sent no CARTRIDGE frame in time)")
    elif not cart.serial:
        lines.append(f"Cartridge:  none seated ({cart.state.name.lower()})")
    else:
        expiry = str(cart.expiry_yyyymmdd)
        lines.append(
            f"Cartridge:  {cart.serial} lot {cart.lot}, {cart.needle_count} needles, "
            f"{_mm(cart.needle_length_um)} long, expires {expiry[:4]}-{expiry[4:6]}-{expiry[6:]}: "
            f"{cart.state.name.lower().replace('_', ' ')}"
        )
    if identity.link_errors:
        errors = ", ".join(f"{count} {kind}" for kind, count in identity.link_errors.items())
        lines.append(f"Link:       frames dropped during the handshake: {errors}")
    return lines
