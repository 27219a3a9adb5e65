"""The bundled simulator in-process on a virtual clock, and a pair of hands for its physical acts,
so the conformance kit runs in virtual time (seconds of pen time in milliseconds)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from firmware_bridge.clock import NS_PER_MS, VirtualClock
from firmware_bridge.conformance import KitRun, run_kit
from simulator.config import PenConfig
from simulator.pen import SimulatedPen
from simulator.scenario import Scenario
from simulator.transport.inprocess import open_host_port

ACT_DELAY_MS = 300  # an act asked for "within 5 s" happens this long after it was asked for


class SimHands:
    """Does on the simulated pen what docs/conformance.md asks a person to do on a real one."""

    def __init__(self, pen: SimulatedPen) -> None:
        self.pen = pen
        self.done: list[str] = []

    def perform(self, act: str, instruction: str) -> bool:
        later = {"press-button": "button", "pull-cartridge": "pull_cartridge"}
        now = {
            "power-cycle": ("reboot", {}),
            "reseat-cartridge": ("seat_cartridge", {}),
            "seat-fresh-cartridge": ("seat_cartridge", {"fresh": True}),
        }
        if act in later:
            action = later[act]
            self.pen.clock.call_later(ACT_DELAY_MS * NS_PER_MS, lambda: self.pen.inject(action))
        else:
            action, params = now[act]
            self.pen.inject(action, **params)
        self.done.append(act)
        return True


@dataclass
class VirtualRun:
    run: KitRun
    hands: SimHands
    pen: SimulatedPen

    def failed(self) -> dict[str, str]:
        """case id -> the section its failure names."""
        return {r.id: r.section for r in self.run.results if r.outcome.value == "failed"}


def run_virtual(defects: Iterable[str] = (), only: tuple[str, ...] = ()) -> VirtualRun:
    clock = VirtualClock()
    pen = SimulatedPen(clock, scenario=Scenario(pen=PenConfig(defects=frozenset(defects))))
    port = open_host_port(pen)
    hands = SimHands(pen)
    try:
        return VirtualRun(run_kit(port, clock, hands, only=only), hands, pen)
    finally:
        port.close()
        pen.close()
