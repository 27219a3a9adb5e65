"""Firmware defects the simulator can be built with, to prove the conformance kit catches them.

A pen with defects is a deliberately wrong pen: each switch breaks one rule of docs/protocol.md
the way a real firmware might (docs/conformance.md lists them and the kit's case that catches
each). They are chosen in a scenario's `[pen] defects = ["no-lease-watchdog", ...]` and nowhere
else, so a default pen is never defective. firmware.py consults them at a few marked hooks; the
behaviour of each defect lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from firmware_bridge.protocol import DecodeError, Decoder, Frame, MessageType
from firmware_bridge.protocol.framing import MAX_ENCODED, cobs_decode, cobs_encode, crc16

# name -> the rule it breaks (protocol.md section), as shown in errors and docs/conformance.md
DEFECTS: dict[str, str] = {
    "no-lease-watchdog": "§7.2: the motor runs on after the lease lapses",
    "stop-from-memory": "§5.2: a re-sent STOP is answered from the duplicate memory, not executed",
    "clamp-off-by-one": "§7.1: a depth one step beyond depth_max_um is accepted",
    "echo-other-set": "§5.3: the ACK echoes a depth one step off the applied one",
    "wrong-params-crc": "§5.3: the ACK's params_crc is not the CRC of the echoed set",
    "estop-lost-on-reboot": "§7.9: the e-stop latch is kept in RAM and lost on a reboot",
    "motor-runs-after-stop": "§7.4: STOP is acknowledged but the motor keeps running",
    "crc-not-checked": "§2.1: frames with a wrong CRC are executed",
}


class DefectError(ValueError):
    """An unknown defect name; the message lists the known ones."""


def check_names(names: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(names)
    unknown = sorted(chosen - DEFECTS.keys())
    if unknown:
        raise DefectError(
            f"unknown firmware defect {', '.join(map(repr, unknown))}; known defects: "
            f"{', '.join(sorted(DEFECTS))}"
        )
    return chosen


@dataclass(frozen=True, slots=True)
class Defects:
    """The switches one firmware was built with (none by default)."""

    names: frozenset[str] = frozenset()

    def has(self, name: str) -> bool:
        assert name in DEFECTS, name
        return name in self.names

    def never_duplicate(self, types: frozenset[MessageType]) -> frozenset[MessageType]:
        """The types never answered from the duplicate memory (protocol.md §5.2)."""
        if self.has("stop-from-memory"):
            return types - {MessageType.STOP}
        return types

    def depth_max_um(self, depth_max_um: int, depth_step_um: int) -> int:
        return depth_max_um + depth_step_um if self.has("clamp-off-by-one") else depth_max_um

    def ack_values(self, values: tuple[int, ...], depth_step_um: int) -> tuple[int, ...]:
        """An ACK's wire values (seq, type, state, version, depth, speed, params_crc, lease) as
        this firmware gets them wrong (or `values` themselves)."""
        if not self.names:
            return values
        seq, kind, state, version, depth_um, speed_sps, crc, lease_ms = values
        if self.has("echo-other-set") and version:
            depth_um += depth_step_um
        if self.has("wrong-params-crc"):
            crc ^= 0x0001
        return (seq, kind, state, version, depth_um, speed_sps, crc, lease_ms)

    def decoder(self) -> Decoder:
        return _CrcBlindDecoder() if self.has("crc-not-checked") else Decoder()


NO_DEFECTS = Defects()


@dataclass
class _CrcBlindDecoder(Decoder):
    """Recomputes every frame's CRC before checking it: a receiver that never checks the CRC."""

    _pending: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Frame | DecodeError]:
        *frames, tail = (bytes(self._pending) + bytes(data)).split(b"\x00")
        self._pending = bytearray(tail)
        fixed = b"".join(_with_good_crc(frame) + b"\x00" for frame in frames)
        if len(self._pending) > MAX_ENCODED:  # let the real decoder count the oversize run
            fixed, self._pending = fixed + bytes(self._pending), bytearray()
        return super().feed(fixed)


def _with_good_crc(encoded: bytes) -> bytes:
    body = cobs_decode(encoded) if encoded else None
    if body is None or len(body) < 8:
        return encoded
    content = body[:-2]
    return cobs_encode(content + crc16(content).to_bytes(2, "little"))
