"""The model-based test: random sessions on the simulated pen, S1-S10 checked after every step.

A Hypothesis `RuleBasedStateMachine` drives one controller and one simulated pen in virtual time
(ARCHITECTURE.md §6): every operator action of controller/actions.py, sensible or not (a refused
one must be refused with a reason, never crash), the practitioner's routine, the pen's button,
cartridge pulls and re-seats (a used one included), link faults (drop, corrupt, duplicate, delay,
split, silence, unplug, one lost frame), pen faults (stall, heat, battery, depth drift, reboot),
the controller's owner dying (S5) and time passing.

The oracle is what the pen really did, never what the controller says it did: the simulator's own
record (`pen.events`, read by a listener at the instant each event happens, and `pen.firmware`)
and every journal record as it is made durable (a spy on the writer's commit). The checklist S1
needs is rebuilt from the journal, not read from the controller. Hooks never raise (an exception
inside a pen callback would be caught by the controller as a fault of its own): they collect
violations, and the invariant, run after every step, reports them.

The session runs under tests/controller/world.py's clinic policy (a 3 s numbing dwell). Examples:
PENCTL_SOAK_EXAMPLES (default 500; `make soak` runs 50,000); steps per sequence at most
PENCTL_MODEL_STEPS (default 30). The test prints how many sequences ran, how long they took and
what they reached (`pytest -s`). test_model_findings.py holds each bug found, written out small.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from controller import actions as act
from controller.core import LEASE_MS, TICK_NS
from controller.journal.format import Record
from controller.machines import Device, Step
from controller.runner import VirtualRunner
from firmware_bridge.clock import NS_PER_MS, NS_PER_S
from firmware_bridge.protocol import FaultCode, PenState, StopReason
from simulator.events import SimEvent
from tests.controller.world import World, model_library

EXAMPLES = int(os.environ.get("PENCTL_SOAK_EXAMPLES", "500"))
STEPS = int(os.environ.get("PENCTL_MODEL_STEPS", "30"))

LEASE_NS = LEASE_MS * NS_PER_MS
# How long the motor may go on turning once the host no longer allows it, outside a link fault:
# the stop goes out at once and again every 100 ms; if it cannot get through, the lease lapses
# (300 ms). During a link fault the bound counts from the end of the fault's window.
STOP_BOUND_NS = LEASE_NS + 2 * TICK_NS
MAX_DELAY_MS = 200  # a `delay` fault holds frames back 100 ms; windows are stretched by this
STOP_REPEAT_NS = 150 * NS_PER_MS  # a stop not yet acknowledged goes again every 100 ms
PEN_HEARD_NS = 3 * 50 * NS_PER_MS  # the pen's state reaches the host with its next TELEMETRY
SWAP_NS = 200 * NS_PER_MS  # the shortest time a hand takes to swap a cartridge
# What the controller may show while an e-stop is not acknowledged (S4): the latch, or a link
# being lost or rebuilt (after re-identifying, the next telemetry says ESTOPPED again).
ESTOP_HOLDS = (
    Device.ESTOP,
    Device.LINK_LOST,
    Device.DISCONNECTED,
    Device.CONNECTING,
    Device.IDENTIFYING,
)
CONNECTED = (
    Device.IDLE,
    Device.ARMING,
    Device.ARMED,
    Device.RUNNING,
    Device.PAUSED,
    Device.STOPPING,
)
# the pen's motor_stopped reasons that the host caused
HOST_STOP_REASONS = ("stop", "estop", "host_reset")

PLANS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("acne-scars", ("cheek_left", "forehead"), None),
    ("acne-scars", ("cheek_left",), "doctor"),
    ("stretch-marks", ("abdomen", "thighs"), "doctor"),  # a soft ceiling (1.5 mm) below the hard
    ("fine-lines-wrinkles", ("neck", "forehead"), "doctor"),
    ("dark-circles", ("periorbital_left",), None),
)
DEPTH = ("closed", "aftercare", "aborted", "treatment", "preparation", "consent", "refused")
STATS: Counter[str] = Counter()  # what the sequences reached, printed after the run


# ---- the operator's actions, sensible and not ---------------------------------------------------

LONG = "x" * 2001
TEXT = st.sampled_from(["a note", "", "   ", LONG, "\ud800", "Ünïcode ✓"])
HEX64 = "0" * 63 + "a"
HAPPY = "the next step of the routine"  # a sentinel: whatever the practitioner would do next


@st.composite
def intakes(draw: Any) -> act.Intake:
    policy = model_library().policy
    profile, areas, level = draw(st.sampled_from(PLANS))
    answers: dict[str, str] = dict.fromkeys(policy.contraindications, "no")
    notes: dict[str, str] = {}
    keys = sorted(policy.contraindications)
    kind = draw(st.sampled_from(["clean", "missing", "blocking", "caution", "unknown", "unsure"]))
    if kind == "missing":
        answers.pop(draw(st.sampled_from(keys)))
    elif kind == "blocking":
        answers[draw(st.sampled_from(sorted(policy.blocking())))] = "yes"
    elif kind == "caution":
        key = draw(st.sampled_from(sorted(policy.cautions())))
        answers[key] = "yes"
        if draw(st.booleans()):
            notes[key] = draw(TEXT)
    elif kind == "unknown":
        answers["not_a_question"] = "no"
    elif kind == "unsure":
        answers[draw(st.sampled_from(keys))] = "maybe"
    return act.Intake(
        patient=draw(st.one_of(st.sampled_from(["P-0001", "P-0002"]), TEXT)),
        profile=draw(st.sampled_from([profile, profile.replace("-", "_"), "no-such", LONG])),
        areas=draw(st.sampled_from([areas, areas[:1], (), ("elbow",), ("abdomen",), (LONG,)])),
        skin_type=draw(st.sampled_from([1, 3, 6, 0, 7])),
        answers=answers,  # type: ignore[arg-type]
        caution_notes=notes,
        interval_override=draw(st.sampled_from([None, None, "patient asked, doctor agreed"])),
        level=draw(st.sampled_from([level, None, "doctor", "nurse"])),
    )


OPERATOR: dict[type[act.Action], st.SearchStrategy[Any]] = {
    act.Connect: st.just(act.Connect()),
    act.Intake: intakes(),
    act.Consent: st.builds(
        act.Consent,
        form_id=st.one_of(st.just("CF-1"), TEXT),
        form_version=st.just("3"),
        method=st.sampled_from(["written", "verbal"]),
        planned_sessions=st.sampled_from([3, 0, 51]),
        spacing_days=st.sampled_from([None, 14, 0, -3]),
        witness=st.one_of(st.none(), TEXT),
        given=st.booleans(),
    ),
    act.Cleanse: st.just(act.Cleanse()),
    act.ApplyNumbing: st.builds(act.ApplyNumbing, agent=st.one_of(st.just("lidocaine 5%"), TEXT)),
    act.RemoveNumbing: st.just(act.RemoveNumbing()),
    act.CheckCartridge: st.just(act.CheckCartridge()),
    act.AddPhoto: st.builds(
        act.AddPhoto,
        phase=st.sampled_from(["before", "after"]),
        path=st.one_of(st.just("photos/1.jpg"), TEXT),
        sha256=st.sampled_from([HEX64, "not-a-hash"]),
        area=st.sampled_from([None, "cheek_left"]),
    ),
    act.BeginTreatment: st.just(act.BeginTreatment()),
    act.SelectArea: st.builds(
        act.SelectArea,
        area=st.one_of(st.sampled_from(["cheek_left", "forehead", "abdomen", "neck"]), TEXT),
    ),
    act.Adjust: st.builds(
        act.Adjust,
        depth_um=st.sampled_from([None, 250, 500, 750, 1000, 1025, 1500, 1550, 2000, 2500]),
        speed_sps=st.sampled_from([None, 90, 100, 105, 110, 130, 150, 0]),
        confirm_reason=st.one_of(st.none(), st.just("deep scars, doctor's order"), TEXT),
    ),
    act.Arm: st.just(act.Arm()),
    act.Start: st.just(act.Start()),
    act.Pause: st.just(act.Pause()),
    act.Stop: st.builds(
        act.Stop, reason=st.sampled_from([StopReason.OPERATOR, StopReason.LINK_LOSS])
    ),
    act.EStop: st.just(act.EStop()),
    act.Acknowledge: st.builds(act.Acknowledge, note=st.one_of(st.none(), TEXT)),
    act.CompleteArea: st.just(act.CompleteArea()),
    act.FinishTreatment: st.just(act.FinishTreatment()),
    act.Aftercare: st.builds(
        act.Aftercare,
        sheet_id=st.one_of(st.just("AC-1"), TEXT),
        sheet_version=st.just("2"),
        effects=st.one_of(st.sampled_from([(), ("redness", "swelling")]), st.tuples(TEXT)),
    ),
    act.Abort: st.builds(act.Abort, reason=st.one_of(st.just("patient unwell"), TEXT)),
}
ACTIONS = st.one_of(st.just(HAPPY), st.one_of(*OPERATOR.values()))


# ---- what the journal and the pen said -----------------------------------------------------------


@dataclass(slots=True)
class SessionFacts:
    """The open session as its journal tells it: the S1 checklist, rebuilt from the records."""

    opened_ns: int
    device_at_open: str
    workflow_at_open: str
    device: str | None = None  # the last STATE_CHANGE's to_state, per machine
    workflow: str | None = None
    consent: bool = False
    numbing_on_ns: int | None = None
    numbing_off_ns: int | None = None
    cleansed: bool = False
    recleansed: bool = False  # after the numbing came off
    cartridge: str | None = None
    closed: bool = False

    def missing(self, dwell_ns: int) -> list[str]:
        missing = [] if self.consent else ["consent"]
        if not self.cleansed:
            missing.append("cleanse")
        if self.numbing_on_ns is None or self.numbing_off_ns is None:
            missing.append("numbing on and off")
        elif self.numbing_off_ns - self.numbing_on_ns < dwell_ns:
            missing.append("the numbing dwell")
        if not self.recleansed:
            missing.append("a cleanse after the numbing came off")
        return missing


@dataclass(slots=True)
class Requested:
    depth_um: int
    speed_sps: int
    override_reason: str | None
    limits: Any  # the controller's EffectiveLimits for the area when the set was asked for
    area: str


@dataclass(slots=True)
class Run:
    """One turn of the motor, per the pen: from motor_started to motor_stopped."""

    started_ns: int
    journaled_ns: int = 0  # its NEEDLE_START's mono_ns
    stopped_ns: int | None = None
    reason: str | None = None
    checked: bool = False


@dataclass(slots=True)
class Observed:
    """Everything the hooks saw; violations are collected here and reported by the invariant."""

    violations: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    session: SessionFacts | None = None
    requested: dict[int, Requested] = field(default_factory=dict)
    applied: set[tuple[int, int, int]] = field(default_factory=set)
    starts_unused: list[tuple[int, int]] = field(default_factory=list)  # (version, mono_ns)
    stop_sent_ns: list[int] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    ran_serials: set[str] = field(default_factory=set)
    alarm_records: set[str] = field(default_factory=set)
    refusals: list[tuple[act.Action, str]] = field(default_factory=list)
    steps_reached: set[str] = field(default_factory=set)

    def fail(self, message: str) -> None:
        self.violations.append(message)

    @property
    def motor_on(self) -> bool:
        return bool(self.runs) and self.runs[-1].stopped_ns is None

    def count(self, record_type: str) -> int:
        return sum(1 for r in self.records if r.type == record_type)


# ---- the machine ---------------------------------------------------------------------------------


class PenPractice(RuleBasedStateMachine):
    """One practice: a pen, a controller, a journal, and whatever the operator and fate do."""

    sequences = 0

    def __init__(self) -> None:
        super().__init__()
        self.ready = False

    @initialize(seed=st.integers(0, 2**16), plan=st.sampled_from(PLANS), warmup=st.integers(0, 18))
    def setup(self, seed: int, plan: tuple[str, tuple[str, ...], str | None], warmup: int) -> None:
        """A new practice; `warmup` steps of the routine take it part of the way (13: running)."""
        type(self).sequences += 1
        self.world = World.build(seed)
        self.plan = plan
        self.patients = itertools.count(1)
        self.obs = Observed()
        self.dwell_ns = self.world.library.policy.numbing.min_dwell_s * NS_PER_S
        self.disturbed_until = 0  # the end of the latest link fault's window (plus delays)
        self.s1_since: tuple[int, str] | None = None  # the host stopped allowing a running motor
        self.host_estop = False  # the controller entered ESTOP and no acknowledgement released it
        self.estop_sent_ns: int | None = None  # an EStop sent, the pen's latch not yet seen
        self.origin_ns = 0  # the monotonic reading at SESSION_OPEN: mono_ns counts from it
        self.acknowledging = False
        self.identified_ns = -(10**18)
        self.link_up_since: int | None = None
        self.pen_latched_since: int | None = None
        self._spy()
        self.ready = True
        for _ in range(warmup):
            self._happy_step()
            self._check()

    def teardown(self) -> None:
        if not self.ready:
            return
        obs = self.obs
        STATS[f"reached {next((s for s in DEPTH if s in obs.steps_reached), 'intake')}"] += 1
        STATS["sequences with the motor run"] += bool(obs.runs)
        STATS["motor runs"] += len(obs.runs)
        STATS["refusals"] += len(obs.refusals)
        for run in obs.runs:
            STATS[f"stopped by {run.reason}"] += 1
        self.world.close()

    # shorthands for the world's parts (the owner may be replaced: see owner_dies)
    @property
    def ctl(self) -> Any:
        return self.world.ctl

    @property
    def pen(self) -> Any:
        return self.world.pen

    @property
    def now(self) -> int:
        return self.world.now

    def _spy(self) -> None:
        """Hooks on the journal's commit, the pen's events and the controller's own moves."""
        obs, ctl, journal = self.obs, self.world.ctl, self.world.journal
        commit, commit_group = journal._commit, journal._commit_group

        def spy_commit(record: Record, line: bytes) -> None:
            commit(record, line)
            self._on_record(record)

        def spy_commit_group(built: list[tuple[Record, bytes]]) -> None:
            """Several records in one write: a group, or a record and the periodic checkpoint
            that rides with it (docs/journal.md §4)."""
            commit_group(built)
            for record, _ in built:
                self._on_record(record)

        journal._commit = spy_commit  # type: ignore[method-assign]
        journal._commit_group = spy_commit_group  # type: ignore[method-assign]
        self.world.pen.add_listener(self._on_pen_event)
        refresh, refuse, fire = ctl.refresh, ctl.refuse, ctl.fire

        def spy_refresh() -> None:
            refresh()
            self._monitor()

        def spy_refuse(action: act.Action, why: str) -> None:
            obs.refusals.append((action, why))
            refuse(action, why)
            # what the console shows at once (a later outcome may replace it in the same turn)
            if not (ctl.last_refusal or "").startswith(f"{action.name}: "):
                obs.fail(f"S9: {action.name} refused, yet the console shows {ctl.last_refusal}")

        def spy_fire(machine: str, trigger: str) -> None:
            model = ctl.device if machine == "device" else ctl.workflow
            before = model.state
            fire(machine, trigger)
            if machine == "device":
                self._on_device_move(trigger, before, model.state)
            else:
                obs.steps_reached.add(model.state)

        ctl.refresh = spy_refresh  # type: ignore[method-assign]
        ctl.refuse = spy_refuse  # type: ignore[method-assign]
        ctl.fire = spy_fire  # type: ignore[method-assign]

    # ---- driving -------------------------------------------------------------------------------

    def _advance(self, ns: int) -> None:
        self.world.advance(ns)

    def _submit(self, action: act.Action, after_ns: int = 0) -> None:
        """As the console does, checking that what is not allowed is refused with a reason."""
        ctl, obs = self.ctl, self.obs
        permission = ctl.allowed()[action.name]
        refused_before = len(obs.refusals)
        runs_before, submitted_ns = len(obs.runs), self.now
        journaled_before = obs.count("ACTION_REFUSED")
        session_open = self.world.journal.session is not None
        if isinstance(action, act.EStop) and ctl.pen is not None:
            self.estop_sent_ns = self.now
        ctl.submit(action)
        self.acknowledging = isinstance(action, act.Acknowledge)
        try:
            self._advance(0)  # the owner handles it at this instant
        finally:
            self.acknowledging = False
        refusals = obs.refusals[refused_before:]
        refused = any(a is action for a, _ in refusals)
        for what, why in refusals:
            assert why.strip(), f"S10: {what.name} refused with no reason"
        if isinstance(action, act.EStop):
            assert ctl.device_state is Device.ESTOP, f"S4: after EStop, {ctl.device_state.value}"
            if FaultCode.ESTOP in self.pen.firmware.latched_faults:
                self.estop_sent_ns = None  # latched at once (or already)
        if not permission.ok:
            assert permission.why.strip(), f"S9: {action.name} not allowed, with no reason"
            assert refused, f"S9: {action.name} was not allowed ({permission.why}) yet went ahead"
            if session_open and self.world.journal.session is not None:
                assert obs.count("ACTION_REFUSED") > journaled_before, (
                    f"S9: the refusal of {action.name} was not journaled"
                )
        if after_ns:
            self._advance(after_ns)
        if isinstance(action, act.Acknowledge):
            started = [r for r in obs.runs[runs_before:] if r.journaled_ns >= submitted_ns]
            assert not started, "S4, S6: acknowledging started the motor"
            if not refused:
                self._check_acknowledged()

    def _check_acknowledged(self) -> None:
        """S6 the other way round: with the causes gone, an acknowledgement clears the latches
        (a latch nothing can clear leaves the session stuck, with no way on but to abort)."""
        ctl = self.ctl
        if (
            ctl.device_state in (Device.IDLE, Device.ARMED, Device.PAUSED)
            and self._link_up()
            and self.pen.firmware.active_fault is FaultCode.NONE
            and self.world.owner_alive
        ):
            latched = [a.alarm_id for a in ctl.alarms if a.latched]
            assert not latched, f"S6: acknowledged with the causes gone, yet {latched} stay"

    def _link_up(self) -> bool:
        pen = self.ctl.pen
        return pen is not None and pen.status().link.value == "up"

    def _happy_step(self) -> None:
        action, after_ns = self._happy_action()
        if action is None:
            self._advance(after_ns)
        else:
            self._submit(action, after_ns)

    def _happy_action(self) -> tuple[act.Action | None, int]:
        """The next thing a careful practitioner would do, and how long it takes."""
        ctl = self.ctl
        device, step, progress = ctl.device_state, ctl.step, ctl.progress
        if device in (Device.DISCONNECTED, Device.LINK_LOST):
            if not self.pen.plugged:
                self.pen.replug()
            return act.Connect(), 500 * NS_PER_MS
        if device in (Device.CONNECTING, Device.IDENTIFYING, Device.ARMING, Device.STOPPING):
            return None, 100 * NS_PER_MS
        if device in (Device.FAULT, Device.ESTOP) or any(a.latched for a in ctl.alarms):
            self._remove_causes()
            return act.Acknowledge(note="patient and pen checked"), 200 * NS_PER_MS
        if step in (Step.INTAKE, Step.CLOSED, Step.REFUSED, Step.ABORTED):
            profile, areas, level = self.plan
            answers = dict.fromkeys(self.world.library.policy.contraindications, "no")
            intake = act.Intake(
                patient=f"P-{next(self.patients):04d}",
                profile=profile,
                areas=areas,
                skin_type=3,
                answers=answers,  # type: ignore[arg-type]
                level=level,
            )
            return intake, 50 * NS_PER_MS
        if step is Step.CONSENT:
            return act.Consent(form_id="CF-1", form_version="3"), 0
        if step is Step.PREPARATION:
            return self._preparation(progress)
        if step is Step.TREATMENT:
            return self._treatment(device, progress)
        if step is Step.AFTERCARE:
            return act.Aftercare(sheet_id="AC-1", sheet_version="2"), 0
        return None, 100 * NS_PER_MS

    def _preparation(self, progress: Any) -> tuple[act.Action | None, int]:
        if progress.cleanses == 0:
            return act.Cleanse(), 0
        if progress.numbing_applied_ns is None:
            return act.ApplyNumbing(agent="lidocaine 5%"), 0
        if progress.numbing_removed_ns is None:
            left = progress.numbing_applied_ns + self.dwell_ns - self.now
            return (None, left) if left > 0 else (act.RemoveNumbing(), 0)
        if progress.cleanses < 2:
            return act.Cleanse(), 0
        if progress.cartridge_serial is None:
            if not self.ctl.allowed()["check_cartridge"].ok:
                self._seat(self.pen.fresh_cartridge())
                return None, 100 * NS_PER_MS
            return act.CheckCartridge(), 0
        return act.BeginTreatment(), 0

    def _treatment(self, device: Device, progress: Any) -> tuple[act.Action | None, int]:
        allowed = self.ctl.allowed()
        if progress.area is None:
            remaining = [a for a, p in progress.areas.items() if not p.done]
            if remaining:
                return act.SelectArea(area=remaining[0]), 0
            return act.FinishTreatment(), 0
        if device is Device.IDLE:
            return (act.Arm(), 200 * NS_PER_MS) if allowed["arm"].ok else (act.CompleteArea(), 0)
        if device in (Device.ARMED, Device.PAUSED):
            return (act.Start(), 0) if allowed["start"].ok else (act.CompleteArea(), 0)
        if device is Device.RUNNING:
            run = self.obs.runs[-1] if self.obs.motor_on else None
            if run is not None and self.now - run.started_ns < NS_PER_S:
                return None, 250 * NS_PER_MS  # let it run a little
            return act.Pause(), 200 * NS_PER_MS
        return None, 100 * NS_PER_MS

    def _remove_causes(self) -> None:
        """What a technician does before acknowledging: let the pen cool, charge it."""
        model = self.pen.firmware.model
        if model.temperature_c > 40:
            self.pen.inject("overheat", to_c=25.0)
        if model.battery_pct < 20:
            self.pen.inject("charge_battery", to_pct=100.0)

    def _disturb(self, for_ms: int) -> None:
        self.disturbed_until = max(
            self.disturbed_until, self.now + (for_ms + MAX_DELAY_MS) * NS_PER_MS
        )

    # ---- rules: the operator -------------------------------------------------------------------

    @precondition(lambda self: self.ready)
    @rule(action=ACTIONS, after_ms=st.sampled_from([0, 20, 100]))
    def operator(self, action: Any, after_ms: int) -> None:
        """Any operator action, sensible or not, or the routine's next step."""
        if action == HAPPY:
            self._happy_step()
        else:
            self._submit(action, after_ms * NS_PER_MS)

    @precondition(lambda self: self.ready)
    @rule(steps=st.integers(1, 4))
    def carry_on(self, steps: int) -> None:
        """A few steps of the practitioner's routine, checked after each."""
        for i in range(steps):
            if i:
                self._check()
            self._happy_step()

    @precondition(lambda self: self.ready)
    @rule(
        action=st.sampled_from([act.Stop(), act.EStop(), act.Pause()]),
        after_ms=st.sampled_from([0, 50]),
    )
    def stop_keys(self, action: act.Action, after_ms: int) -> None:
        """The stop keys, often: they must work in every state (S4)."""
        self._submit(action, after_ms * NS_PER_MS)

    @precondition(lambda self: self.ready)
    @rule(
        stop=st.sampled_from([act.Pause(), act.Stop(), act.EStop()]),
        after_ms=st.sampled_from([0, 10, 50, 90]),
    )
    def start_then_stop(self, stop: act.Action, after_ms: int) -> None:
        """The operator starts and thinks better of it at once (before START's answer is due)."""
        self._submit(act.Start(), after_ms * NS_PER_MS)
        self._submit(stop, 50 * NS_PER_MS)

    @precondition(lambda self: self.ready)
    @rule(ms=st.sampled_from([10, 50, 100, 300, 1000]))
    def time_passes(self, ms: int) -> None:
        self._advance(ms * NS_PER_MS)

    # ---- rules: the pen in the hand ------------------------------------------------------------

    @precondition(lambda self: self.ready)
    @rule(after_ms=st.sampled_from([0, 50]))
    def button(self, after_ms: int) -> None:
        self.pen.press_button()
        self._advance(after_ms * NS_PER_MS)

    @precondition(lambda self: self.ready)
    @rule(
        kind=st.sampled_from(["pull", "fresh", "short", "expired", "unreadable"]),
        after_ms=st.sampled_from([0, 100]),
    )
    def cartridge(self, kind: str, after_ms: int) -> None:
        """A cartridge pulled, or another seated (the one fitted pulled first: see _seat)."""
        if kind == "pull":
            self.pen.pull_cartridge()
        else:
            changes: dict[str, Any] = {
                "fresh": {},
                "short": {"needle_length_um": 1000},
                "expired": {"expiry_yyyymmdd": 20250101},
                "unreadable": {"readable": False},
            }[kind]
            self._seat(self.pen.fresh_cartridge().replace(**changes))
        self._advance(after_ms * NS_PER_MS)

    def _seat(self, cartridge: Any) -> None:
        """Hands take a moment to swap a cartridge: the pen has no cartridge for at least a
        TELEMETRY period, which the host hears even when the pen's EVENTs are lost."""
        if self.pen.firmware.cartridge is not None:
            self.pen.pull_cartridge()
            self._advance(SWAP_NS)
        self.pen.seat_cartridge(cartridge)

    @precondition(lambda self: self.ready)
    @rule(forgetful=st.booleans())
    def reseat_used_cartridge(self, forgetful: bool) -> None:
        """S8: the last cartridge pulled (or the one fitted) is pushed back in and checked.

        `forgetful`: the pen has lost its record of used serials and the chip's flag reads unused
        (another pen, or one whose flash was wiped), so only the host's own memory protects."""
        firmware = self.pen.firmware
        cartridge = firmware.last_removed or firmware.cartridge
        if cartridge is None:
            return
        if forgetful:
            firmware.used_serials.discard(cartridge.serial)
            cartridge = cartridge.replace(used=False)
        self._seat(cartridge)
        self._advance(100 * NS_PER_MS)
        checked_before = self.obs.count("CARTRIDGE")
        self._submit(act.CheckCartridge(), 50 * NS_PER_MS)
        if cartridge.serial in self.obs.ran_serials:
            assert self.obs.count("CARTRIDGE") == checked_before, (
                f"S8: cartridge {cartridge.serial} ran before and was checked again"
            )

    # ---- rules: the link and the pen's own faults ----------------------------------------------

    @precondition(lambda self: self.ready)
    @rule(
        kind=st.sampled_from(["drop", "corrupt", "duplicate", "delay", "split", "silent"]),
        direction=st.sampled_from(["both", "to_pen", "to_host"]),
        rate=st.sampled_from([0.3, 1.0]),
        for_ms=st.sampled_from([100, 500, 1000]),
    )
    def link_fault(self, kind: str, direction: str, rate: float, for_ms: int) -> None:
        params: dict[str, Any] = {"direction": direction, "for_ms": for_ms}
        if kind != "silent":
            params["rate"] = rate
        if kind == "delay":
            params["delay_ms"] = MAX_DELAY_MS // 2
        self._disturb(for_ms)
        self.pen.inject(kind, **params)

    @precondition(lambda self: self.ready)
    @rule(
        kind=st.sampled_from(["START", "STOP", "ESTOP", "SET_PARAMS", "CLEAR_FAULT", "LEASE"]),
        how=st.sampled_from(["drop", "corrupt", "delay"]),
    )
    def lose_one(self, kind: str, how: str) -> None:
        """The next host frame of one type is lost, spoilt or held back (a burst of noise)."""
        params: dict[str, Any] = {"direction": "to_pen", "frames": 1, "types": [kind]}
        if how == "delay":
            params["delay_ms"] = MAX_DELAY_MS // 2
        self._disturb(1000)  # that frame may go out any time in the next second
        self.pen.inject(how, **params)

    @precondition(lambda self: self.ready)
    @rule(for_ms=st.sampled_from([200, 1000]))
    def unplug(self, for_ms: int) -> None:
        self._disturb(for_ms)
        self.pen.inject("unplug", for_ms=for_ms)

    @precondition(lambda self: self.ready)
    @rule(
        kind=st.sampled_from(
            ["stall", "overheat", "cool", "drain", "low_battery", "charge", "drift", "reboot"]
        ),
        for_ms=st.sampled_from([100, 600, 2000]),
    )
    def pen_fault(self, kind: str, for_ms: int) -> None:
        pen = self.pen
        if kind == "stall":
            pen.inject("stall", load=1.0, for_ms=for_ms)
        elif kind in ("overheat", "cool"):
            pen.inject("overheat", to_c=50.0 if kind == "overheat" else 25.0)
        elif kind in ("drain", "low_battery"):
            pen.inject("drain_battery", to_pct=4.0 if kind == "drain" else 12.0)
        elif kind == "charge":
            pen.inject("charge_battery", to_pct=100.0)
        elif kind == "drift":
            pen.inject("depth_drift", rate_um_per_s=2000.0, for_ms=for_ms)
        else:
            self._disturb(600)  # it boots for 200 ms; the host reconnects when told to
            pen.reboot()

    # ---- rules: the host's owner -----------------------------------------------------------------

    @precondition(lambda self: self.ready)
    @rule()
    def owner_dies(self) -> None:
        """S5: the controller's owner stops (no ticks, no lease renewals): the pen stops the motor
        by itself within the lease. Then a new owner takes over the same controller."""
        obs, world = self.obs, self.world
        was_running = obs.motor_on
        died_ns = self.now
        world.run.stop()
        slack_ns = MAX_DELAY_MS * NS_PER_MS if self.disturbed_until > died_ns else 0
        self._advance(LEASE_NS + slack_ns + NS_PER_MS)
        assert not obs.motor_on, f"S5: the motor runs {LEASE_MS} ms after the owner stopped"
        if was_running:
            run = next(r for r in reversed(obs.runs) if r.started_ns <= died_ns)
            assert run.stopped_ns is not None and run.stopped_ns <= died_ns + LEASE_NS + slack_ns
            # a stop already on its way, or the pen's own reasons, may come first
            assert run.reason in ("lease_expired", *HOST_STOP_REASONS, "fault", "button"), (
                f"S5: the motor stopped for {run.reason}, not the lease"
            )
            if run.reason == "lease_expired":
                assert any(e.event == "lease_expired" for e in self.pen.events[-50:])
        world.run = VirtualRunner(world.ctl, world.clock)
        self._advance(TICK_NS)

    # ---- hooks: they collect, never raise --------------------------------------------------------

    def _on_record(self, record: Record) -> None:
        obs, ctl = self.obs, self.world.ctl
        obs.records.append(record)
        kind, data = record.type, record.data
        # the journal counts mono_ns from its session's origin (docs/journal.md §2)
        self.origin_ns = self.world.journal._origin_ns
        t = record.mono_ns + self.origin_ns
        if kind == "SESSION_OPEN":
            obs.session = SessionFacts(t, ctl.device.state, ctl.workflow.state)
            return
        session = obs.session
        if session is None or (session.closed and kind != "CHECKPOINT"):
            obs.fail(f"S7: {kind} journaled outside an open session")
            return
        if kind == "STATE_CHANGE":
            if data["machine"] == "device":
                session.device = data["to_state"]
            else:
                session.workflow = data["to_state"]
        elif kind == "CONSENT":
            session.consent = data["given"]
        elif kind == "CHECKLIST" and data["item_id"] == "cleanse":
            session.cleansed = True
        elif kind == "CHECKLIST" and data["item_id"] == "recleanse":
            session.recleansed = session.numbing_off_ns is not None
        elif kind == "NUMBING":
            if data.get("removed_at") is None:
                session.numbing_on_ns = t
            else:
                session.numbing_off_ns = t
        elif kind == "CARTRIDGE":
            if data["serial"] in obs.ran_serials:
                obs.fail(f"S8: cartridge {data['serial']} ran before and was checked again")
            session.cartridge = data["serial"]
        elif kind == "PARAMS_REQUESTED":
            obs.requested[data["param_version"]] = Requested(
                data["depth_um"],
                data["speed_sps"],
                data.get("override_reason"),
                ctl.limits,
                data["area"],
            )
        elif kind == "NEEDLE_START":
            obs.starts_unused.append((data["param_version"], t))
        elif kind == "NEEDLE_STOP":
            obs.stop_sent_ns.append(data["sent_mono_ns"] + self.origin_ns)
            if data["sent_mono_ns"] + self.origin_ns > t:
                obs.fail("S7: a NEEDLE_STOP says it was sent after it was journaled")
        elif kind == "FAULT":
            obs.alarm_records.add(data["fault_id"])
        elif kind == "ALARM":
            obs.alarm_records.add(data["alarm_id"])
            if data["alarm_id"] == "HOST_INTERNAL":
                obs.fail(f"HOST_INTERNAL journaled: {data['message']}")
        elif kind == "SESSION_CLOSE":
            session.closed = True

    def _on_pen_event(self, event: SimEvent) -> None:
        obs, name = self.obs, event.event
        if name == "params_applied":
            self._on_applied(event)
        elif name == "motor_started":
            self._on_started(event)
        elif name == "motor_stopped":
            if not obs.motor_on:
                obs.fail(f"pen: motor_stopped with no run ({event})")
                return
            run = obs.runs[-1]
            run.stopped_ns, run.reason = event.t_ns, event.data["reason"]
            self.s1_since = None
        elif name == "estop_engaged":
            self.estop_sent_ns = None
        elif name == "fault_cleared" and event.data["fault"] == "estop":
            self.host_estop = False  # CLEAR_FAULT(ESTOP): only an acknowledgement sends it

    def _on_applied(self, event: SimEvent) -> None:
        """S2, S3 at the instant the pen applies a set: one the host asked for, within limits."""
        obs, d = self.obs, event.data
        version, depth, speed = d["param_version"], d["depth_um"], d["speed_sps"]
        obs.applied.add((version, depth, speed))
        asked = obs.requested.get(version)
        if asked is None:
            obs.fail(f"S2, S7: the pen applied set {version}, which no PARAMS_REQUESTED names")
            return
        if (asked.depth_um, asked.speed_sps) != (depth, speed):
            obs.fail(f"S3: set {version} applied as {depth} µm, {speed} sps: not as asked")
        limits = asked.limits
        if limits is None:
            obs.fail(f"S2: set {version} was asked for with no limits computed")
            return
        if not limits.depth_min.value <= depth <= limits.depth_max.value:
            obs.fail(
                f"S2: {depth} µm applied, outside {limits.depth_min.value}-"
                f"{limits.depth_max.value} µm for {asked.area}"
            )
        if not limits.speed_min.value <= speed <= limits.speed_max.value:
            obs.fail(
                f"S2: {speed} sps applied, outside {limits.speed_min.value}-"
                f"{limits.speed_max.value} sps for {asked.area}"
            )
        fitted = self.pen.firmware.cartridge
        if fitted is not None and fitted.readable and depth > fitted.needle_length_um:
            obs.fail(f"S2: {depth} µm applied with a {fitted.needle_length_um} µm needle")
        soft = limits.soft_depth_max
        if soft is not None and depth > soft.value and not (asked.override_reason or "").strip():
            obs.fail(f"S2: {depth} µm, above the soft {soft.value} µm, with no reason journaled")

    def _on_started(self, event: SimEvent) -> None:
        """S1 and S7 at the instant the pen starts the motor."""
        obs, t = self.obs, event.t_ns
        if obs.motor_on:
            obs.fail("pen: motor_started while running")
        run = Run(t)
        obs.runs.append(run)
        version = event.data["param_version"]
        for i, (asked, at_ns) in enumerate(obs.starts_unused):
            if asked == version and at_ns <= t:
                del obs.starts_unused[i]
                run.journaled_ns = at_ns
                break
        else:
            obs.fail(f"S7: the motor started (set {version}) with no NEEDLE_START journaled first")
        why = self._host_forbids_running()
        if why is not None and self._in_flight(run):
            # A START written while running was allowed, held on the wire by a fault, reaches
            # the pen after the operator stopped: no host can recall a frame. The stop that
            # follows it on the wire must end the run within the bound (S1).
            self.s1_since = (t, f"{why} (its START was already on the wire)")
        elif why is not None:
            obs.fail(f"S1: the motor started at {t / 1e9:.3f} s although {why}")
        cartridge = self.pen.firmware.cartridge
        if cartridge is not None:
            obs.ran_serials.add(cartridge.serial)

    def _in_flight(self, run: Run) -> bool:
        """The run's START was written before now, within a link fault's window that may hold
        frames back, and nothing but the operator's moves since (a stop, an e-stop, an abort)
        forbids the run."""
        journaled = 0 < run.journaled_ns < run.started_ns
        held = run.started_ns <= self.disturbed_until
        return journaled and held and self._host_forbids_running(moves=False) is None

    def _host_forbids_running(self, *, moves: bool = True) -> str | None:
        """Why, if at all, the host does not allow the needle to run now (S1); `moves=False`
        leaves out what the operator changes at a key (the workflow's step, the device, the
        session an abort closes, and the confirmed set, which a stop forgets)."""
        ctl, session = self.world.ctl, self.obs.session
        if moves and ctl.step is not Step.TREATMENT:
            return f"the workflow is at {ctl.step.value}"
        if moves and ctl.device_state not in (Device.RUNNING, Device.STOPPING):
            return f"the device is {ctl.device_state.value}"
        if session is None or (moves and session.closed):
            return "no journal session is open"
        if moves and session.workflow != Step.TREATMENT.value:
            return f"the journal's workflow is at {session.workflow}"
        missing = session.missing(self.dwell_ns)
        if missing:
            return f"the journal lacks {', '.join(missing)}"
        fitted = self.world.pen.firmware.cartridge
        if session.cartridge is None:
            return "no cartridge was checked in this session"
        if fitted is None or fitted.serial != session.cartridge:
            return f"the cartridge fitted is not the one checked ({session.cartridge})"
        if not moves:
            return None  # a stop forgets the confirmed set; the pen runs the set START named
        applied, confirmed = self.world.pen.firmware.applied, ctl.progress.confirmed
        if applied is None or confirmed is None:
            return f"the pen applied {applied}, the controller confirmed {confirmed}"
        if (applied.version, applied.depth_um, applied.speed_sps) != (
            confirmed.param_version,
            confirmed.depth_um,
            confirmed.speed_sps,
        ):
            return f"the pen applied {applied}, the controller confirmed {confirmed}"
        return None

    def _monitor(self) -> None:
        """After each turn of the owner: S1 while the motor runs; when the link came up; when
        the pen latched."""
        now = self.now
        if self.obs.motor_on:
            why = self._host_forbids_running()
            if why is None:
                self.s1_since = None
            elif self.s1_since is None:
                self.s1_since = (now, why)
        if not self._link_up():
            self.link_up_since = None
        elif self.link_up_since is None:
            self.link_up_since = now
        if self.world.pen.firmware.state not in (PenState.FAULTED, PenState.ESTOPPED):
            self.pen_latched_since = None
        elif self.pen_latched_since is None:
            self.pen_latched_since = now

    def _on_device_move(self, trigger: str, before: str, after: str) -> None:
        """S4, S1: how the device may leave ESTOP, and enter RUNNING."""
        if after == Device.ESTOP.value and before != after:
            self.host_estop = True
        elif trigger == "identified":
            self.identified_ns = self.now
        if self.host_estop and before == Device.ESTOP.value and after != before:
            if trigger == "cleared" or self.acknowledging:
                self.host_estop = False
                self.estop_sent_ns = None  # released by the operator, delivered or not
            elif after not in ESTOP_HOLDS:
                self.obs.fail(f"S4: the e-stop left by {trigger} to {after}")
        if after == Device.RUNNING.value and trigger != "start":
            self.obs.fail(f"S1: the device entered running by {trigger}")

    # ---- the invariant ---------------------------------------------------------------------------

    @invariant()
    def safety(self) -> None:
        if self.ready:
            self._check()

    def _check(self) -> None:
        obs, ctl, pen, now = self.obs, self.ctl, self.pen, self.now
        snapshot = ctl.snapshot()
        assert not obs.violations, "\n".join(obs.violations)
        for alarm in snapshot.alarms:
            assert alarm.alarm_id != "HOST_INTERNAL", f"HOST_INTERNAL: {alarm.what} {alarm.did}"
            assert alarm.what and alarm.did and alarm.next, f"S10: {alarm.alarm_id} incomplete"
        running = pen.firmware.state is PenState.RUNNING
        assert running == obs.motor_on, f"the pen is {pen.firmware.state.name}, its events differ"
        # S1: once the host no longer allows it, the motor stops within the bound
        if self.s1_since is not None:
            since, why = self.s1_since
            deadline = max(since, self.disturbed_until) + STOP_BOUND_NS
            assert now <= deadline, f"S1: the motor runs {(now - since) / 1e6:.0f} ms after {why}"
        # S3: the console shows as confirmed only a set the pen applied, and runs that one
        confirmed = snapshot.confirmed
        if confirmed is not None:
            shown = (confirmed.param_version, confirmed.depth_um, confirmed.speed_sps)
            assert shown in obs.applied, f"S3: confirmed {shown}, never applied by the pen"
            applied = pen.firmware.applied
            if obs.motor_on and applied is not None:
                assert (applied.version, applied.depth_um, applied.speed_sps) == shown, (
                    f"S3: the pen runs {applied}, the console shows {confirmed}"
                )
        owner = self.world.owner_alive
        self._monitor()
        # S6: a fault the pen latched is shown latched once the host has heard of it
        heard = max(
            now if self.pen_latched_since is None else self.pen_latched_since,
            now if self.link_up_since is None else self.link_up_since,
            self.disturbed_until,
        )
        if owner and ctl.device_state in CONNECTED and now - heard > PEN_HEARD_NS:
            raise AssertionError(
                f"S6: the pen is {pen.firmware.state.name} ({pen.firmware.active_fault.name}), "
                f"the device {ctl.device_state.value}"
            )
        # S5: a lost link is never shown as a connected pen
        if owner and ctl.device_state in CONNECTED and ctl.pen is not None:
            link = ctl.pen.status().link.value
            assert link == "up", f"S5: the device is {ctl.device_state.value}, the link {link}"
        self._check_estop(now)
        if owner:
            self._check_journal(snapshot)

    def _check_estop(self, now: int) -> None:
        """S4: the pen latches once the e-stop can reach it; ESTOP holds until acknowledged."""
        ctl, pen = self.ctl, self.pen
        if FaultCode.ESTOP in pen.firmware.latched_faults:
            self.estop_sent_ns = None
        elif self.estop_sent_ns is not None and self.link_up_since is not None and pen.plugged:
            since = max(self.estop_sent_ns, self.link_up_since, self.disturbed_until)
            assert now - since <= STOP_REPEAT_NS, "S4: e-stop sent, link up, the pen not latched"
        if (
            self.host_estop
            and ctl.device_state not in ESTOP_HOLDS
            and now - self.identified_ns > PEN_HEARD_NS
        ):
            raise AssertionError(f"S4: e-stop not acknowledged, yet {ctl.device_state.value}")

    def _check_journal(self, snapshot: Any) -> None:
        """S7: what the host did is on record (when a session is open to hold it)."""
        obs, ctl, session = self.obs, self.ctl, self.obs.session
        # every motor stop the host caused has a NEEDLE_STOP sent since the run was journaled
        # (a stop may overtake a START still on the wire)
        for run in obs.runs:
            if run.checked or run.stopped_ns is None:
                continue
            run.checked = True
            if (
                run.reason in HOST_STOP_REASONS
                and session is not None
                and not session.closed
                and session.opened_ns <= run.stopped_ns
            ):
                sent = obs.stop_sent_ns
                assert any(run.journaled_ns <= s <= run.stopped_ns for s in sent), (
                    f"S7: the host stopped the motor ({run.reason}) with no NEEDLE_STOP journaled"
                )
        if self.world.journal.session is None or session is None or session.closed:
            return
        # every latched alarm on show has its FAULT or ALARM record
        for alarm in snapshot.alarms:
            assert not alarm.latched or alarm.alarm_id in obs.alarm_records, (
                f"S7: latched alarm {alarm.alarm_id} has no FAULT or ALARM record"
            )
        # the journal's last state change is the controller's state: every change is journaled
        device = session.device or session.device_at_open
        workflow = session.workflow or session.workflow_at_open
        assert device == ctl.device.state, f"S7: the journal says {device}, not {ctl.device.state}"
        assert workflow == ctl.workflow.state, (
            f"S7: the journal says {workflow}, not {ctl.workflow.state}"
        )


# `make test` runs the same 500 sequences every time (derandomized), so a red build is a change
# in the code, never the luck of the draw; `make soak` (PENCTL_SOAK_EXAMPLES) explores new ones,
# and what it finds becomes a test in test_model_findings.py.
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize="PENCTL_SOAK_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_the_model_submits_every_operator_action() -> None:
    assert set(OPERATOR) == set(act.ALL_ACTIONS)


def test_model_random_sessions_keep_s1_to_s10() -> None:
    PenPractice.sequences = 0
    STATS.clear()
    started = time.perf_counter()
    try:
        run_state_machine_as_test(PenPractice, settings=SETTINGS)
    finally:
        took = time.perf_counter() - started
        print(f"\nmodel: {PenPractice.sequences} sequences of up to {STEPS} steps in {took:.1f} s")
        print("model: " + ", ".join(f"{k} {v}" for k, v in sorted(STATS.items())))
