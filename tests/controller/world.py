"""A practice in virtual time for tests: a simulated pen, a journal, a controller and its owner.

`World.build()` wires one up; its helpers walk a session forward as a careful practitioner would
(connect, intake, preparation, arm, start), through `Controller.submit` as the console does.
Everything runs on one `VirtualClock`, so a test is exact and instant.

One deliberate difference from the bundled library: the clinic policy's numbing dwell is 3 s
instead of 15 min (a clinic policy.toml generated from the bundled one, every other figure kept),
so that a session reaches the needle in a few virtual seconds. A virtual minute costs about a
wall-clock second, and the model-based test runs hundreds of sessions.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from controller import actions as act
from controller.core import Controller
from controller.journal import JournalWriter
from controller.journal.signing import CheckpointSigner
from controller.machines import Device, Step
from controller.runner import VirtualRunner
from firmware_bridge import open_pen
from firmware_bridge.clock import NS_PER_MS, NS_PER_S, VirtualClock
from profiles import Library, load_library
from simulator.config import PenConfig
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import publish, unpublish

DWELL_MINUTES = "0.05"  # 3 s
DWELL_S = 3

_cache: dict[str, Any] = {}
_names = itertools.count(1)


def model_library() -> Library:
    """The bundled library under a clinic policy that differs only in its 3 s numbing dwell."""
    if "library" not in _cache:
        policy = resources.files("profiles.library").joinpath("policy.toml")
        text, count = re.subn(
            r"(?m)^min_dwell_minutes = [0-9.]+",
            f"min_dwell_minutes = {DWELL_MINUTES}",
            policy.read_text(encoding="utf-8"),
        )
        assert count == 1, "the bundled policy no longer says min_dwell_minutes once"
        clinic = Path(tempfile.mkdtemp(prefix="penctl-clinic-"))
        try:
            (clinic / "policy.toml").write_text(text, encoding="utf-8")
            library = load_library(clinic, environ={})
        finally:
            shutil.rmtree(clinic, ignore_errors=True)
        assert library.policy.numbing.min_dwell_s == DWELL_S
        _cache["library"] = library
    return _cache["library"]


def _signer() -> CheckpointSigner:
    if "signer" not in _cache:
        _cache["signer"] = CheckpointSigner.generate()
    return _cache["signer"]


def _scratch_root() -> str | None:
    """Journals on tmpfs where there is one: every record is fsynced."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass(eq=False)
class World:
    clock: VirtualClock
    pen: SimulatedPen
    journal: JournalWriter
    ctl: Controller
    run: VirtualRunner
    library: Library
    directory: Path
    name: str

    @classmethod
    def build(cls, seed: int = 1, config: PenConfig | None = None) -> World:
        """`config`: a pen other than the default one (e.g. a faster telemetry period)."""
        clock = VirtualClock()
        pen = SimulatedPen(clock, seed=seed, config=config)
        name = f"world-{os.getpid()}-{next(_names)}"
        url = publish(name, pen)
        directory = Path(tempfile.mkdtemp(prefix="penctl-world-", dir=_scratch_root()))
        journal = JournalWriter.open(directory / "journal", signer=_signer(), clock=clock)
        library = model_library()
        ctl = Controller(
            clock=clock,
            journal=journal,
            library=library,
            operator="op:tester",
            open_pen=lambda: open_pen(url, clock=clock),
        )
        run = VirtualRunner(ctl, clock)
        return cls(clock, pen, journal, ctl, run, library, directory, name)

    def close(self) -> None:
        if self.ctl.pen is not None:
            self.ctl.pen.close()
        self.pen.close()
        unpublish(self.name)
        self.journal.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ---- time and actions ----------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.clock.monotonic_ns()

    @property
    def owner_alive(self) -> bool:
        return not self.run._stopped

    def advance(self, ns: int) -> None:
        """Move virtual time; then let the owner handle what the last read of the port brought
        at that very instant (`VirtualRunner.run_until` reads the port last and returns before
        the drain that read queued)."""
        self.run.run_for(ns)
        for _ in range(10):
            if not self.ctl._queue or not self.owner_alive:
                break
            self.run.run_for(0)

    def advance_ms(self, ms: int) -> None:
        self.advance(ms * NS_PER_MS)

    def submit(self, action: act.Action, after_ms: int = 0) -> None:
        """As the console does; the owner handles it at this instant, then time moves on."""
        self.ctl.submit(action)
        self.advance(0)
        if after_ms:
            self.advance_ms(after_ms)

    @property
    def device(self) -> Device:
        return self.ctl.device_state

    @property
    def step(self) -> Step:
        return self.ctl.step

    def alarm_ids(self) -> list[str]:
        return [a.alarm_id for a in self.ctl.snapshot().alarms]

    def records(self, record_type: str | None = None) -> list[dict[str, Any]]:
        """Every journal record so far, in order (read back from the session files)."""
        import json

        found = []
        for path in sorted((self.directory / "journal").glob("session-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record_type is None or record["type"] == record_type:
                    found.append(record)
        return found

    # ---- a session, step by step ---------------------------------------------------------------

    def connect(self) -> None:
        self.submit(act.Connect(), after_ms=500)
        assert self.device is Device.IDLE, self.device

    def intake(
        self,
        profile: str = "acne-scars",
        areas: tuple[str, ...] = ("cheek_left",),
        level: str | None = None,
        patient: str = "P-0001",
    ) -> None:
        answers = dict.fromkeys(self.library.policy.contraindications, "no")
        self.submit(
            act.Intake(
                patient=patient,
                profile=profile,
                areas=areas,
                skin_type=3,
                answers=answers,  # type: ignore[arg-type]
                level=level,
            ),
            after_ms=50,
        )
        assert self.step is Step.CONSENT, (self.step, self.ctl.last_refusal)

    def prepare(self) -> None:
        """Consent to treatment begun: cleanse, numbing on for the dwell and off, cleanse again,
        the cartridge checked."""
        self.submit(act.Consent(form_id="CF-1", form_version="3"))
        self.submit(act.Cleanse())
        self.submit(act.ApplyNumbing(agent="lidocaine 5%"))
        self.advance(DWELL_S * NS_PER_S)
        self.submit(act.RemoveNumbing())
        self.submit(act.Cleanse())
        self.submit(act.CheckCartridge())
        self.submit(act.BeginTreatment())
        assert self.step is Step.TREATMENT, (self.step, self.ctl.last_refusal)

    def arm(self, area: str = "cheek_left") -> None:
        self.submit(act.SelectArea(area=area))
        self.submit(act.Arm(), after_ms=200)
        assert self.device is Device.ARMED, (self.device, self.ctl.last_refusal)

    def to_armed(self, **intake: Any) -> None:
        self.connect()
        self.intake(**intake)
        self.prepare()
        self.arm()

    def start(self) -> None:
        self.submit(act.Start(), after_ms=200)
        assert self.device is Device.RUNNING, (self.device, self.ctl.last_refusal)
