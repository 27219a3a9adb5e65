"""Python's cyclic garbage collector, kept from holding up a stop key.

A collection holds the interpreter: no thread of the console runs meanwhile, the input thread
that sends STOP and E-STOP included. Measured with the e-stop trials of bench/console.py (load
6-8): 62 automatic full collections in four minutes, p50 363 ms, max 1.9 s; an e-stop waited
330 ms behind one, and a pause over 1 s is what pyserial's write timeout reads as a dead port
(link lost). A full collection's length grows with every object the console holds; a young one
(generations 0 and 1) with what was made since the last: a few ms.

So automatic full collections are off, and the console collects only where no needle can run
(the needle is stopped before a workflow step can end, and starting it takes keys the app's
loop handles, which a collection holds):
- at each change of step it collects what was made since the last one and freezes what is
  left (never scanned again), so the collections during a step are short;
- at the summary (the session is over) it thaws everything and collects it all, so what a
  session froze and then let go is freed once a session;
- while the pen is idle or latched, once enough young collections have piled up, it collects
  what was made since the step began (memory stays bounded in a long step).
"""

from __future__ import annotations

import gc

from controller.machines import Device

# Generation-1 collections before an automatic full one: never, in practice.
NEVER = 1 << 30
# Generation-1 collections since the last full one (each follows ~7000 new objects) that make a
# full one due: with 100, one took 0.8-1.2 s at load 6, near pyserial's 1 s write timeout.
PILED_UP = 10
# Where the needle cannot start without at least two more operator actions.
_NEEDLE_CANNOT_START = frozenset(
    {Device.DISCONNECTED, Device.IDLE, Device.FAULT, Device.ESTOP, Device.LINK_LOST}
)


class Collector:
    def __init__(self, piled_up: int = PILED_UP) -> None:
        self._thresholds = gc.get_threshold()
        self._piled_up = piled_up

    def hold_full_collections(self) -> None:
        gc.freeze()
        young, older, _ = self._thresholds
        gc.set_threshold(young, older, NEVER)

    def release(self) -> None:
        """The interpreter's own schedule again (the app is leaving; tests run many apps)."""
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()

    @staticmethod
    def collect_between_steps(session_over: bool) -> None:
        if session_over:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    def collect_if_piled_up(self, device: Device) -> None:
        if device in _NEEDLE_CANNOT_START and gc.get_count()[2] >= self._piled_up:
            gc.collect()
