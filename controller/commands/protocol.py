"""`penctl protocol decode`: read a captured frame the way the pen link reads it."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "protocol",
        help="decode pen-link frames (hex) for debugging and firmware bring-up",
        description="Decode frames given in hex (COBS-encoded, delimiter optional), one per "
        "argument or one per line on standard input. Prints one JSON object per frame.",
    )
    parser.add_argument("frames", nargs="*", metavar="HEX", help="frames in hex; '-' for stdin")
    parser.set_defaults(handler=_decode)


def _decode(args: argparse.Namespace) -> int:
    from firmware_bridge.protocol import Decoder, Frame

    inputs = list(args.frames) or ["-"]
    if inputs == ["-"]:
        inputs = [line.strip() for line in sys.stdin if line.strip()]
    status = 0
    decoder = Decoder()
    for text in inputs:
        try:
            data = bytes.fromhex(text.replace(":", "").replace(" ", ""))
        except ValueError:
            print(
                f"penctl protocol: {text!r} is not hexadecimal; give frames as hex bytes, "
                "e.g. 03010205ffff...00",
                file=sys.stderr,
            )
            return 2
        if not data.endswith(b"\x00"):
            data += b"\x00"
        for result in decoder.feed(data):
            if isinstance(result, Frame):
                record = {
                    "seq": result.seq,
                    "flags": result.flags,
                    "type": result.message.TYPE.name,
                    "fields": result.message.fields(),
                }
            else:
                status = 1
                record = {
                    "error": result.kind.value,
                    "detail": result.detail,
                    "seq": result.seq,
                    "msg_type": result.msg_type,
                }
            print(json.dumps(record, ensure_ascii=False))
    return status
