"""A whole controller on the simulated pen in virtual time, for the controller's tests.

`run_session` hands out a `Rig`: the controller, its runner, the pen and the journal on one
`VirtualClock`, the pen published in-process under a unique name (taken down afterwards). The
`Rig`'s steps walk the workflow the way an operator does, so a test can stop at any step.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from controller import actions as act
from controller.core import Controller
from controller.journal import JournalWriter
from controller.journal.signing import CheckpointSigner
from controller.runner import VirtualRunner
from firmware_bridge import open_pen
from firmware_bridge.clock import NS_PER_MS, NS_PER_S, VirtualClock
from profiles import Library, load_library
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import publish, unpublish

OPERATOR = "op:alice"
PATIENT = "P-0001"
PROFILE = "acne-scars"
AREAS = ("cheek_left", "forehead")

_names = itertools.count(1)


@dataclass
class Rig:
    clock: VirtualClock
    pen: SimulatedPen
    journal: JournalWriter
    library: Library
    ctl: Controller
    run: VirtualRunner

    @property
    def directory(self) -> Path:
        return Path(self.journal.directory)

    def submit(self, action: act.Action, settle_ms: int = 50) -> None:
        self.ctl.submit(action)
        self.run.run_for(settle_ms * NS_PER_MS)

    def wait_s(self, seconds: float) -> None:
        self.run.run_for(round(seconds * NS_PER_S))

    def intake_action(self, **changes: object) -> act.Intake:
        fields: dict[str, object] = {
            "patient": PATIENT,
            "profile": PROFILE,
            "areas": AREAS,
            "skin_type": 3,
            "answers": {key: "no" for key in self.library.policy.contraindications},
        }
        fields.update(changes)
        return act.Intake(**fields)  # type: ignore[arg-type]

    # ---- the workflow, one step at a time --------------------------------------------------

    def connect(self) -> None:
        self.submit(act.Connect(), settle_ms=500)

    def intake(self) -> None:
        self.submit(self.intake_action())

    def consent(self) -> None:
        self.submit(act.Consent(form_id="CF-1", form_version="3"))

    def prepare(self) -> None:
        """Cleanse, numb for the policy's dwell, remove, cleanse again, check the cartridge."""
        self.submit(act.Cleanse())
        self.submit(act.ApplyNumbing(agent="lidocaine 5%"))
        self.wait_s(self.library.policy.numbing.min_dwell_s)
        self.submit(act.RemoveNumbing())
        self.submit(act.Cleanse())
        self.submit(act.CheckCartridge())

    def begin(self) -> None:
        self.submit(act.BeginTreatment())

    def arm(self, area: str = "cheek_left") -> None:
        self.submit(act.SelectArea(area=area))
        self.submit(act.Arm(), settle_ms=200)

    def start(self, seconds: float = 2.0) -> None:
        self.submit(act.Start())
        self.wait_s(seconds)

    def pause(self) -> None:
        self.submit(act.Pause(), settle_ms=300)

    def finish(self) -> None:
        self.submit(act.CompleteArea())
        self.submit(act.FinishTreatment())
        self.submit(
            act.Aftercare(sheet_id="AC-1", sheet_version="2", effects=("redness",)),
            settle_ms=100,
        )

    def whole_session(self) -> None:
        """The worked example: one area treated for two seconds, the session closed."""
        self.connect()
        self.intake()
        self.consent()
        self.prepare()
        self.begin()
        self.arm()
        self.start()
        self.pause()
        self.finish()


@contextmanager
def run_session(directory: Path, *, seed: int = 1) -> Iterator[Rig]:
    """A controller and a simulated pen in virtual time, journaling to `directory`."""
    clock = VirtualClock()
    pen = SimulatedPen(clock, seed=seed)
    name = f"ctl-test-{next(_names)}"
    url = publish(name, pen)
    journal = JournalWriter.open(directory, signer=CheckpointSigner.generate(), clock=clock)
    library = load_library(environ={})
    ctl = Controller(
        clock=clock,
        journal=journal,
        library=library,
        operator=OPERATOR,
        open_pen=lambda: open_pen(url, clock=clock),
    )
    run = VirtualRunner(ctl, clock)
    try:
        yield Rig(clock, pen, journal, library, ctl, run)
    finally:
        run.stop()
        journal.close()
        if ctl.pen is not None:
            ctl.pen.close()
        pen.close()
        unpublish(name)
