"""S9: a refused operator action says why, is journaled, and does nothing else.

One session on the simulated pen in virtual time. At several points of the workflow every action
that `allowed()` says no to is submitted: each must be refused with exactly that reason in
`snapshot().last_refusal`, journaled as ACTION_REFUSED with the same reason once a session is open
(and not journaled before one is), leave both machines where they were, and send the pen nothing
but lease renewals.
"""

from __future__ import annotations

from pathlib import Path

from controller import actions as act
from controller.journal.audit.anchors import load_witness
from controller.journal.audit.verifier import verify_path
from controller.journal.format import SESSION_FILE, Record, check_schema, parse_line
from firmware_bridge.clock import NS_PER_MS
from tests.controller.session import OPERATOR, Rig, run_session

# Commands the controller sends on its own whatever the operator does (the owner's tick).
ROUTINE_COMMANDS = frozenset({"LEASE"})


def _sample(rig: Rig) -> dict[str, act.Action]:
    """One well-formed value of every action, by name (Stop and EStop are never refused)."""
    samples: list[act.Action] = [
        act.Connect(),
        rig.intake_action(),
        act.Consent(form_id="CF-1", form_version="3"),
        act.Cleanse(),
        act.ApplyNumbing(agent="lidocaine 5%"),
        act.RemoveNumbing(),
        act.CheckCartridge(),
        act.AddPhoto(phase="before", path="photos/before.jpg", sha256="ab" * 32),
        act.BeginTreatment(),
        act.SelectArea(area="forehead"),
        act.Adjust(depth_um=500),
        act.Arm(),
        act.Start(),
        act.Pause(),
        act.Acknowledge(),
        act.CompleteArea(),
        act.FinishTreatment(),
        act.Aftercare(sheet_id="AC-1", sheet_version="2"),
        act.Abort(reason="testing refusals"),
    ]
    by_name = {a.name: a for a in samples}
    assert set(by_name) | {"stop", "estop"} == {cls.name for cls in act.ALL_ACTIONS}
    return by_name


def _records(directory: Path) -> list[Record]:
    records: list[Record] = []
    for path in sorted(directory.iterdir()):
        if SESSION_FILE.match(path.name):
            records += [check_schema(parse_line(line)) for line in path.read_bytes().splitlines()]
    return records


def _commands(rig: Rig, since: int) -> list[str]:
    return [e.data["type"] for e in rig.pen.events[since:] if e.event == "command"]


class Probe:
    """Submits every action `allowed()` refuses now and checks what each refusal left behind."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.samples = _sample(rig)
        self.refused: dict[str, set[str]] = {}
        self.journaled = 0

    def __call__(self, label: str) -> None:
        rig, ctl = self.rig, self.rig.ctl
        session_open = rig.journal.session is not None
        refused = {
            name: permission.why
            for name, permission in ctl.allowed().items()
            if not permission.ok and name in self.samples
        }
        assert refused, f"{label}: nothing to refuse"
        for name, why in refused.items():
            device, step = ctl.device_state, ctl.step
            records_before = len(_records(rig.directory))
            events_before = len(rig.pen.events)
            now = ctl.allowed()[name]
            assert not now.ok and now.why == why, f"{label}: {name} changed under the probe"

            rig.submit(self.samples[name], settle_ms=20)

            where = f"{label}: {name}"
            assert ctl.snapshot().last_refusal == f"{name}: {why}", where
            assert (ctl.device_state, ctl.step) == (device, step), where
            sent = set(_commands(rig, events_before))
            assert sent <= ROUTINE_COMMANDS, f"{where} reached the pen: {sent}"
            new = _records(rig.directory)[records_before:]
            refusals = [r for r in new if r.type == "ACTION_REFUSED"]
            if session_open:
                assert [(r.data["action"], r.data["reason"]) for r in refusals] == [(name, why)], (
                    where
                )
                assert refusals[0].actor == OPERATOR, where
                # a CHECKPOINT is the journal's own periodic signature (docs/journal.md §4)
                assert {r.type for r in new} - {"CHECKPOINT"} == {"ACTION_REFUSED"}, where
                self.journaled += 1
            else:
                assert new == [], f"{where}: journaled with no session open"
        self.refused[label] = set(refused)


def test_s9_refused_actions_are_said_journaled_and_go_nowhere(tmp_path: Path) -> None:
    with run_session(tmp_path / "journal") as rig:
        probe = Probe(rig)
        ctl = rig.ctl

        probe("disconnected")
        rig.connect()
        probe("connected, before intake")
        rig.intake()
        assert rig.journal.session is not None
        probe("consent")
        rig.consent()
        rig.submit(act.Cleanse())
        rig.submit(act.ApplyNumbing(agent="lidocaine 5%"))
        rig.wait_s(5 * 60)
        probe("preparation, numbing on for 5 min")
        assert "wait 10 min" in ctl.allowed()["remove_numbing"].why
        rig.wait_s(rig.library.policy.numbing.min_dwell_s - 5 * 60)
        rig.submit(act.RemoveNumbing())
        rig.submit(act.Cleanse())
        rig.submit(act.CheckCartridge())
        probe("preparation, checklist complete")
        rig.begin()
        probe("treatment, no area chosen")
        rig.arm("cheek_left")
        probe("treatment, armed")
        rig.start(seconds=1.0)
        probe("treatment, needle running")
        rig.pause()
        probe("treatment, paused")
        rig.submit(act.CompleteArea())
        rig.submit(act.FinishTreatment())
        probe("aftercare")
        rig.submit(act.Aftercare(sheet_id="AC-1", sheet_version="2"), settle_ms=100)
        assert rig.journal.session is None
        probe("session closed")

        refused = probe.refused
        assert {"intake", "start", "arm", "consent"} <= refused["disconnected"]
        assert "connect" in refused["connected, before intake"]
        assert {"intake", "cleanse", "start"} <= refused["consent"]
        assert {"remove_numbing", "begin_treatment", "apply_numbing"} <= refused[
            "preparation, numbing on for 5 min"
        ]
        assert {"start", "arm", "adjust", "complete_area"} <= refused["treatment, no area chosen"]
        assert {"select_area", "adjust", "arm", "complete_area", "finish_treatment"} <= refused[
            "treatment, needle running"
        ]
        assert {"start", "select_area", "arm", "consent"} <= refused["aftercare"]
        assert {"abort", "aftercare", "start"} <= refused["session closed"]
        assert probe.journaled >= 60

        # The refusals are part of a journal that still verifies.
        anchored = verify_path(
            rig.directory,
            pinned_public_key=rig.ctl.journal.public_key,
            witnesses=[load_witness(str(rig.directory / "head.json"))],
        )
        assert anchored.verdict == "PASS"


def test_s9_a_refusal_is_read_only_from_a_snapshot_that_handled_its_action(tmp_path: Path) -> None:
    """`Controller.submit` returns a ticket; a snapshot whose `actions_handled` has reached it
    shows the action's outcome. Scripts wait for it, so a loaded owner never makes them miss a
    refusal or time a dwell from before it began."""
    with run_session(tmp_path / "journal") as rig:
        rig.connect()
        ticket = rig.ctl.submit(act.Start())  # no session yet: refused
        assert rig.ctl.snapshot().actions_handled < ticket
        rig.run.run_for(50 * NS_PER_MS)
        snap = rig.ctl.snapshot()
        assert snap.actions_handled >= ticket
        assert snap.last_refusal is not None and snap.last_refusal.startswith("start:")
        assert rig.ctl.submit(act.Stop()) == ticket + 1  # a stop is an action like any other
