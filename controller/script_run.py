"""Running a session script against a controller: the operator's actions in order, with waits.

The script acts only through `Controller.submit` and reads only `snapshot()` and `allowed()`,
exactly as the console does, so a script that passes proves the path a practitioner takes. Time
passes through a `Pace`: virtual (`--fast`: the clock jumps) or real (the wall clock).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from controller import actions as act
from controller.machines import Device, Step
from firmware_bridge.clock import NS_PER_S

if TYPE_CHECKING:
    from controller.core import Controller
    from controller.runner import VirtualRunner
    from controller.script import AreaScript, SessionScript
    from controller.snapshot import Snapshot

# Exit codes of `penctl session run` (docs/sessions.md).
COMPLETED = 0
SCRIPT_ERROR = 1
REFUSED = 2
ALARM = 3
NO_PEN = 4
STALLED = 5
POLL_MS = 20
HANDLED_TIMEOUT_S = 10.0


class Pace(Protocol):
    def wait(self, seconds: float) -> None: ...


@dataclass
class VirtualPace:
    runner: VirtualRunner

    def wait(self, seconds: float) -> None:
        self.runner.run_for(round(seconds * NS_PER_S))


class RealPace:
    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class ScriptFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ScriptRun:
    def __init__(
        self,
        script: SessionScript,
        controller: Controller,
        pace: Pace,
        *,
        out: TextIO | None = None,
        press_button: Callable[[], None] | None = None,
    ) -> None:
        self.script = script
        self.ctl = controller
        self.pace = pace
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._press_button = press_button

    def run(self) -> int:
        try:
            self._connect()
            if not self._intake():
                return COMPLETED if self.script.expect == "refused" else REFUSED
            self._prepare()
            for area in self.script.area:
                self._area(area)
            self._aftercare()
        except ScriptFailed as failure:
            self._say(f"FAILED: {failure}")
            self._stop_needle()
            self._abort(str(failure))
            return failure.code
        snap = self.ctl.snapshot()
        self._say(
            f"Session completed for {snap.patient}: follow-up on {snap.follow_up}. "
            f"Journal: {self.ctl.journal.directory} (verify with `penctl audit verify`). "
            f"Head fingerprint {self.ctl.journal.head_fingerprint}: keep it (paper, e-mail) as "
            "a witness for `penctl audit verify --witness`."
        )
        return COMPLETED

    # ---- the steps -----------------------------------------------------------------------------

    def _connect(self) -> None:
        self._do(act.Connect())
        self._until(lambda s: s.device is Device.IDLE, 5.0, "the pen did not identify", NO_PEN)
        pen = self.ctl.snapshot().pen
        assert pen is not None
        self._say(
            f"Pen {pen.model} {pen.serial}, firmware {pen.firmware}; cartridge "
            f"{pen.cartridge_serial or 'none'} ({(pen.cartridge_state or '?').lower()})"
        )

    def _intake(self) -> bool:
        intake = self.script.intake
        answers = {key: "no" for key in self.ctl.library.policy.contraindications}
        answers.update(intake.answers)
        self._do(
            act.Intake(
                patient=intake.patient,
                profile=intake.profile,
                areas=tuple(intake.areas),
                skin_type=intake.skin_type,
                answers=answers,  # type: ignore[arg-type]
                caution_notes=dict(intake.caution_notes),
                interval_override=intake.interval_override,
                level=intake.level,
            )
        )
        step = self.ctl.snapshot().step
        if step is Step.REFUSED:
            self._say(f"Session refused at intake: {self.ctl.snapshot().last_refusal}")
            return False
        self._say(f"Intake recorded: {intake.patient}, {intake.profile}, {', '.join(intake.areas)}")
        return True

    def _prepare(self) -> None:
        consent = self.script.consent
        prep = self.script.preparation
        self._do(
            act.Consent(
                form_id=consent.form_id,
                form_version=consent.form_version,
                method=consent.method,
                planned_sessions=consent.planned_sessions,
                spacing_days=consent.spacing_days,
                witness=consent.witness,
            )
        )
        self._do(act.Cleanse())
        self._do(act.ApplyNumbing(agent=prep.numbing_agent))
        policy_s = self.ctl.library.policy.numbing.min_dwell_s
        dwell_s = policy_s if prep.numbing_minutes is None else prep.numbing_minutes * 60
        self._say(f"Numbing: {prep.numbing_agent}, {dwell_s / 60:g} min")
        self.pace.wait(dwell_s)
        self._do(act.RemoveNumbing())
        self._do(act.Cleanse())
        self._do(act.CheckCartridge())
        for photo in prep.before_photos:
            self._do(
                act.AddPhoto(phase="before", path=photo.path, sha256=photo.sha256, area=photo.area)
            )
        self._do(act.BeginTreatment())

    def _area(self, area: AreaScript) -> None:
        refused = self._set_area(area)
        if area.expect_refusal is not None:
            if refused is None or area.expect_refusal.lower() not in refused.lower():
                raise ScriptFailed(
                    REFUSED,
                    f"{area.area}: expected a refusal containing {area.expect_refusal!r}, "
                    f"got {refused or 'none'}",
                )
            self._say(f"{area.area}: refused as expected: {refused}")
            if self.ctl.snapshot().area is not None:
                self._do(act.CompleteArea())
            return
        if refused is not None:
            raise ScriptFailed(REFUSED, f"{area.area}: {refused}")
        self._run_area(area)
        self._do(act.CompleteArea())

    def _set_area(self, area: AreaScript) -> str | None:
        """Select, adjust and arm; the refusal's text, or None once the pen confirmed the set."""
        for action in (
            act.SelectArea(area=area.area),
            act.Adjust(
                depth_um=area.depth_um, speed_sps=area.speed_sps, confirm_reason=area.confirm_reason
            ),
            act.Arm(),
        ):
            refusal = self._try(action)
            if refusal is not None:
                return refusal
        self._until(lambda s: s.device is not Device.ARMING, 2.0, "the pen did not confirm", NO_PEN)
        snap = self.ctl.snapshot()
        if snap.device is not Device.ARMED:
            return snap.last_refusal or f"the pen is {snap.device.value}"
        assert snap.confirmed is not None
        self._say(
            f"{area.area}: the pen confirmed {snap.confirmed.depth_um / 1000:.2f} mm at "
            f"{snap.confirmed.speed_sps} strokes/s"
        )
        return None

    def _run_area(self, area: AreaScript) -> None:
        segment_s = area.pause_every_s or area.run_s
        presses = sorted(area.button_at_s)
        done_s = 0.0
        while done_s < area.run_s:
            length = min(segment_s, area.run_s - done_s)
            if presses and done_s <= presses[0] < done_s + length:
                length = presses[0] - done_s
            self._run_segment(area.area, length)
            done_s += length
            if presses and abs(done_s - presses[0]) < 1e-9:
                presses.pop(0)
                self._button()
            elif self.ctl.snapshot().device is Device.RUNNING:
                self._do(act.Pause())
                self._until(
                    lambda s: s.device is Device.PAUSED, 2.0, "the needle did not stop", NO_PEN
                )

    def _run_segment(self, area: str, seconds: float) -> None:
        if seconds <= 0:
            return
        self._do(act.Start())
        self._until(lambda s: s.device is Device.RUNNING, 1.0, "the needle did not start", NO_PEN)
        end = seconds
        while end > 0:
            step = min(end, 1.0)
            self.pace.wait(step)
            end -= step
            self._check_alarms()
            self._progress(area)

    def _button(self) -> None:
        if self._press_button is None:
            self._say("button press skipped: only the in-process simulator (--fast) has a button")
            self._do(act.Pause())
            return
        self._press_button()
        self._until(lambda s: s.device is Device.PAUSED, 1.0, "the button did not stop", NO_PEN)
        self._say("the pen's button stopped the needle")

    def _aftercare(self) -> None:
        after = self.script.aftercare
        self._do(act.FinishTreatment())
        for photo in after.after_photos:
            self._do(
                act.AddPhoto(phase="after", path=photo.path, sha256=photo.sha256, area=photo.area)
            )
        self._do(
            act.Aftercare(
                sheet_id=after.sheet_id,
                sheet_version=after.sheet_version,
                method=after.method,
                effects=tuple(after.effects),
            )
        )
        self._until(lambda s: s.step is Step.CLOSED, 2.0, "the session did not close", REFUSED)

    # ---- plumbing ------------------------------------------------------------------------------

    def _try(self, action: act.Action) -> str | None:
        """Submit and wait until the controller has handled it; the refusal's reason, or None.
        (A fixed wait is not enough: a loaded host's owner may take longer, and a refusal read
        too early would be missed, or a dwell timed from before it began.)"""
        ticket = self.ctl.submit(action)
        self._until(
            lambda s: s.actions_handled >= ticket,
            HANDLED_TIMEOUT_S,
            f"the controller did not handle {action.name}",
            STALLED,
            alarms=False,
        )
        refusal = self.ctl.snapshot().last_refusal
        return refusal if refusal and refusal.startswith(f"{action.name}:") else None

    def _do(self, action: act.Action) -> None:
        refusal = self._try(action)
        if refusal is not None:
            raise ScriptFailed(REFUSED, refusal)
        self._check_alarms()

    def _until(
        self,
        done: Callable[[Snapshot], bool],
        timeout_s: float,
        what: str,
        code: int,
        *,
        alarms: bool = True,
    ) -> None:
        waited = 0.0
        while not done(self.ctl.snapshot()):
            if alarms:
                self._check_alarms()
            if waited >= timeout_s:
                snap = self.ctl.snapshot()
                raise ScriptFailed(code, f"{what} within {timeout_s:g} s (pen {snap.device.value})")
            self.pace.wait(POLL_MS / 1000)
            waited += POLL_MS / 1000

    def _check_alarms(self) -> None:
        for alarm in self.ctl.snapshot().alarms:
            if alarm.latched:
                raise ScriptFailed(
                    ALARM, f"alarm {alarm.alarm_id}: {alarm.what} {alarm.did} {alarm.next}"
                )

    def _progress(self, area: str) -> None:
        snap = self.ctl.snapshot()
        view = next((a for a in snap.areas if a.area == area), None)
        if view is None:
            return
        line = (
            f"{area}: pass {view.passes + 1}, {view.time_ms / 1000:.0f} s of "
            f"{view.max_time_ms / 1000:.0f} s"
        )
        if self.live:
            self.out.write(f"\r{line}   ")
            self.out.flush()
        elif view.time_ms % 5_000 < 1_000:
            self._say(line)

    def _say(self, line: str) -> None:
        if self.live:
            self.out.write("\r")
        self.out.write(line + "\n")
        self.out.flush()

    def _abort(self, why: str) -> None:
        """Close the session as aborted with the failure as its reason (never left open)."""
        if self.ctl.allowed()["abort"].ok:
            self.ctl.submit(act.Abort(reason=f"scripted session failed: {why}"[:1900]))
            self.pace.wait(0.2)

    def _stop_needle(self) -> None:
        if self.ctl.snapshot().device in (Device.RUNNING, Device.STOPPING):
            self.ctl.submit(act.Stop())
            self.pace.wait(0.2)
