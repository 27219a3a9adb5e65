"""S7: no treatment without a record. A journal that cannot be written mid-treatment stops the
needle, latches JOURNAL_FAULT and refuses to start again, and the owner keeps running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller import actions as act
from controller.machines import Device
from tests.controller.session import run_session

DEV_FULL = Path("/dev/full")


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full to make writes fail (ENOSPC)")
def test_s7_a_full_disk_mid_treatment_stops_the_needle_and_latches(tmp_path: Path) -> None:
    with run_session(tmp_path / "journal") as rig:
        rig.connect()
        rig.intake()
        rig.consent()
        rig.prepare()
        rig.begin()
        rig.arm()
        rig.start(seconds=0.5)
        assert rig.ctl.device_state is Device.RUNNING
        # The session file's descriptor now writes to /dev/full: every write fails with ENOSPC.
        journal = rig.journal
        real_fd = journal._fd  # the one way to fill the disk mid-session
        assert real_fd is not None
        full_fd = os.open(DEV_FULL, os.O_WRONLY)
        journal._fd = full_fd
        try:
            rig.pause()  # the pass is journaled as the needle stops: that write fails
            rig.wait_s(0.5)
        finally:
            os.close(real_fd)

        assert journal.fault is not None
        ctl = rig.ctl
        assert ctl.device_state is Device.FAULT
        alarms = {a.alarm_id: a for a in ctl.alarms}
        assert "JOURNAL_FAULT" in alarms and alarms["JOURNAL_FAULT"].latched
        assert "No space left on device" in alarms["JOURNAL_FAULT"].what
        telemetry = rig.ctl.facts.telemetry
        assert telemetry is not None and telemetry.motor_state.name == "STOPPED"
        stops = [e for e in rig.pen.events if e.event == "command" and e.data["type"] == "STOP"]
        assert stops, "the pen was never told to stop"

        # Nothing starts again, not even after the alarm is acknowledged: the journal stays
        # latched, and a needle must not run unrecorded.
        assert not ctl.allowed()["start"].ok
        rig.submit(act.Acknowledge())
        sent_before = len(rig.pen.events)
        for action in (act.Arm(), act.Start()):
            why = ctl.allowed()[action.name]
            assert not why.ok and "journal" in why.why, (action.name, why)
            rig.submit(action, settle_ms=200)
            assert ctl.snapshot().last_refusal == f"{action.name}: {why.why}"
        sent = [e.data["type"] for e in rig.pen.events[sent_before:] if e.event == "command"]
        assert set(sent) <= {"LEASE"}, sent
        # S6: acknowledged twice, the cause is still there, and so is the banner saying it
        rig.submit(act.Acknowledge(), settle_ms=200)
        assert "JOURNAL_FAULT" in [a.alarm_id for a in ctl.snapshot().alarms]
        assert ctl.device_state not in (Device.ARMING, Device.ARMED, Device.RUNNING)
