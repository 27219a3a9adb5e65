"""The console driven as a practitioner drives it (Textual's Pilot), against the simulated pen in
virtual time: every check of a stop is made at the simulator (the pen's own record), not in the
console's picture of it.
"""

from __future__ import annotations

import shlex
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Select, SelectionList
from textual.widgets._footer import FooterKey

from controller.cli import build_parser, main
from controller.commands.console import open_journal
from controller.console.app import PenConsole
from controller.console.dialogs import ReasonScreen
from controller.core import Controller
from controller.journal import JournalWriter
from controller.journal.signing import PUBLIC_KEY_FILE
from controller.machines import Device, Step
from controller.runner import VirtualRunner
from firmware_bridge import open_pen
from firmware_bridge.clock import NS_PER_MS, VirtualClock
from profiles import load_library
from simulator.pen import SimulatedPen
from simulator.transport.inprocess import publish, unpublish
from tests.controller.console.walkthrough import short_dwell_clinic
from tests.controller.journal.helpers import fixed_signer

SIZE = (160, 60)


@dataclass
class Bench:
    app: PenConsole
    pilot: Pilot[None]
    pen: SimulatedPen
    runner: VirtualRunner
    controller: Controller

    async def wait(self, ms: int) -> None:
        """Let `ms` of virtual time pass, then let the console redraw."""
        self.runner.run_for(ms * NS_PER_MS)
        self.app.refresh_view()
        await self.pilot.pause()

    async def press(self, *keys: str, ms: int = 50) -> None:
        await self.pilot.press(*keys)
        await self.wait(ms)

    async def click(self, selector: str, ms: int = 50) -> None:
        await self.pilot.click(selector)
        await self.wait(ms)

    def motor_running(self) -> bool:
        starts = [e for e in self.pen.events if e.event in ("motor_started", "motor_stopped")]
        return bool(starts) and starts[-1].event == "motor_started"

    def estop_latched(self) -> bool:
        return any(e.event == "estop_engaged" for e in self.pen.events)


@dataclass
class Rig:
    """A console on a simulated pen in virtual time, before the app runs."""

    app: PenConsole
    pen: SimulatedPen
    runner: VirtualRunner
    controller: Controller

    async def bench(self, pilot: Pilot[None]) -> Bench:
        bench = Bench(self.app, pilot, self.pen, self.runner, self.controller)
        await bench.wait(10)
        return bench


@contextmanager
def rig(
    name: str, journal_for: Callable[[VirtualClock], JournalWriter] | None = None
) -> Iterator[Rig]:
    """`journal_for` opens the journal on the rig's clock (default: a fixed key, no witness)."""
    clock = VirtualClock()
    pen = SimulatedPen(clock, seed=3)
    url = publish(name, pen)
    directory = Path(tempfile.mkdtemp())
    journal = (
        journal_for(clock)
        if journal_for is not None
        else JournalWriter.open(directory / "j", signer=fixed_signer(), clock=clock)
    )
    controller = Controller(
        clock=clock,
        journal=journal,
        library=load_library(short_dwell_clinic(directory / "clinic")),
        operator="op:test",
        open_pen=lambda: open_pen(url, clock=clock),
    )
    runner = VirtualRunner(controller, clock)
    from controller import actions as act

    controller.submit(act.Connect())
    runner.run_for(500 * NS_PER_MS)
    try:
        yield Rig(PenConsole(controller), pen, runner, controller)
    finally:
        journal.close()
        unpublish(name)


@asynccontextmanager
async def console(
    name: str, journal_for: Callable[[VirtualClock], JournalWriter] | None = None
) -> AsyncIterator[Bench]:
    with rig(name, journal_for) as r:
        async with r.app.run_test(size=SIZE) as pilot:
            yield await r.bench(pilot)


async def fill_intake(b: Bench, *, profile: str = "hair-growth", area: str = "scalp") -> None:
    app = b.app
    app.query_one("#patient", Input).value = "P-0900"
    app.query_one("#profile", Select).value = profile
    await b.pilot.pause()
    app.query_one("#areas", SelectionList).select(area)
    app.query_one("#skin", Select).value = 3
    app.query_one("#level", Select).value = "doctor"
    await b.click("#intake-submit")


async def to_treatment(b: Bench) -> None:
    await fill_intake(b)
    assert b.controller.step is Step.CONSENT, b.controller.snapshot().last_refusal
    await b.click("#consent-yes")
    await b.click("#prep-cleanse")
    await b.click("#prep-numb")
    await b.wait(3_000)
    await b.click("#prep-unnumb")
    await b.click("#prep-cleanse")
    await b.click("#prep-cartridge")
    await b.click("#prep-begin")
    assert b.controller.step is Step.TREATMENT, b.controller.snapshot().last_refusal


async def run_needle(b: Bench) -> None:
    await b.press("n")  # the first area
    await b.press("a", ms=200)
    assert b.controller.device_state is Device.ARMED
    await b.press("s", ms=500)
    assert b.motor_running(), [e.event for e in b.pen.events][-5:]


async def treat_and_close(b: Bench) -> str:
    """One area treated, aftercare given, the session closed; returns the summary's text."""
    await to_treatment(b)
    await run_needle(b)
    await b.press("p", ms=300)
    assert not b.motor_running()
    await b.press("n")  # complete the area
    await b.press("f")
    assert b.controller.step is Step.AFTERCARE
    b.app.query_one("#effects", SelectionList).select("redness")
    await b.click("#aftercare-done")
    assert b.controller.step is Step.CLOSED
    return str(b.app.query_one("Summary").render())


async def test_the_whole_happy_path_from_intake_to_summary() -> None:
    async with console("c-happy") as b:
        summary = await treat_and_close(b)
        snap = b.controller.snapshot()
        assert snap.follow_up is not None
        assert "Follow-up" in summary and snap.follow_up in summary


async def test_the_summary_s_report_command_run_as_shown_writes_this_session_s_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The practitioner pastes the summary's Report line: it names the journal (not the default
    one here) and the session, and writes that session's HTML report."""
    async with console("c-report") as b:
        summary = await treat_and_close(b)
        journal = b.controller.journal.directory
    line = next(text for text in summary.splitlines() if text.startswith("Report: "))
    command = shlex.split(line.removeprefix("Report: "))
    assert command[:4] == ["penctl", "audit", "report", str(journal)]
    assert "--session" in command and command[command.index("--session") + 1] == "1"
    assert "1 pass," in summary  # one pass, said as a person says it
    monkeypatch.chdir(tmp_path)
    assert main(command[1:]) in (0, 4)  # PASS, or UNPROTECTED: no pinned key in this rig
    report = (tmp_path / "session-000001.html").read_text()
    assert "P-0900" in report and "scalp" in report, report[:3000]


async def test_a_session_through_the_console_with_witness_leaves_a_head_audit_verify_accepts(
    tmp_path: Path,
) -> None:
    """`penctl console --witness DIR` hands each signed head to DIR, as `penctl session run
    --witness DIR` does: the journal then verifies PASS against DIR and the pinned key."""
    journal, keys, witness = tmp_path / "j", tmp_path / "keys", tmp_path / "witness"
    options = ["--journal", str(journal), "--key-dir", str(keys), "--witness", str(witness)]
    args = build_parser().parse_args(["console", *options])
    async with console("c-witness", lambda clock: open_journal(args, clock)) as b:
        summary = await treat_and_close(b)
        fingerprint = b.controller.journal.head_fingerprint
    assert (witness / "head.json").read_bytes() == (journal / "head.json").read_bytes()
    assert f"Journal head {fingerprint}" in summary and "Witness not updated" not in summary
    verify = ["audit", "verify", str(journal), "--public-key", str(keys / PUBLIC_KEY_FILE)]
    assert main([*verify, "--witness", str(witness)]) == 0
    assert main([*verify, "--witness", fingerprint]) == 0  # the paper copy of the summary


@pytest.mark.parametrize("key", ["escape", "f1"])
async def test_s4_stop_and_estop_work_while_typing_in_a_field(key: str) -> None:
    """The keys are app priority bindings: a focused Input does not swallow them."""
    async with console(f"c-typing-{key}") as b:
        await to_treatment(b)
        await run_needle(b)
        b.app.query_one("#patient", Input).focus()  # a field on another pane still has focus
        await b.press(key, ms=100)
        assert not b.motor_running()
        if key == "f1":
            assert b.estop_latched()
            assert b.controller.device_state is Device.ESTOP


@pytest.mark.parametrize("key", ["escape", "f1"])
async def test_s4_stop_and_estop_work_inside_the_reason_dialog(key: str) -> None:
    async with console(f"c-dialog-{key}") as b:
        await to_treatment(b)
        await run_needle(b)
        b.app.push_screen(ReasonScreen("why?"))
        await b.pilot.pause()
        await b.pilot.press("x", "y")  # typing a reason
        await b.press(key, ms=100)
        assert not b.motor_running()
        assert b.estop_latched() is (key == "f1")


@pytest.mark.parametrize(("key", "latched"), [("escape", False), ("f1", True)])
async def test_s4_in_a_terminal_the_input_thread_sends_the_stop_ahead_of_the_app(
    key: str, latched: bool
) -> None:
    """The console's terminal driver sends Esc and F1 from the thread that reads the keyboard,
    before the app's message loop sees them (stopkeys.py), and keeps them from the app; any other
    key reaches the app as before."""
    async with console(f"c-driver-{key}") as b:
        await to_treatment(b)
        await run_needle(b)
        driver = b.app.get_driver_class()(b.app)
        b.app.query_one("#patient", Input).focus()

        def input_thread(*keys: str) -> None:
            reader = threading.Thread(
                target=lambda: [driver.process_message(events.Key(k, k)) for k in keys]
            )
            reader.start()
            reader.join()

        input_thread(key)  # the app's loop has not run since: only the input thread acted
        assert not b.motor_running()
        assert b.estop_latched() is latched
        await b.wait(100)
        assert not b.motor_running()
        input_thread("q")  # not a stop key: the patient field gets it, through the app
        await b.wait(50)
        assert b.app.query_one("#patient", Input).value.endswith("q")


@pytest.mark.parametrize("pane", ["intake", "journal", "treatment"])
async def test_s4_estop_latches_at_the_pen_from_every_screen(pane: str) -> None:
    async with console(f"c-every-{pane}") as b:
        if pane == "treatment":
            await to_treatment(b)
            await run_needle(b)
        if pane == "journal":
            await b.press("f3")
        await b.press("f1", ms=200)
        assert b.estop_latched()
        assert not b.motor_running()
        banner = str(b.app.query_one("#alarms").render())
        assert "ESTOP_ENGAGED" in banner and "***" in banner


async def test_a_latched_fault_is_acknowledged_and_never_restarts_the_needle() -> None:
    async with console("c-fault") as b:
        await to_treatment(b)
        await run_needle(b)
        await b.press("f1", ms=200)
        assert b.controller.device_state is Device.ESTOP
        await b.press("s", ms=100)  # refused: the e-stop is latched
        assert not b.motor_running()
        assert "start" in str(b.app.query_one("#refusal").render())
        await b.press("f2", ms=300)
        assert b.controller.device_state is Device.IDLE
        assert not b.motor_running()  # S6: release is never go
        assert b.controller.snapshot().confirmed is None  # the set must be confirmed again


async def test_the_soft_limit_asks_for_a_reason_and_journals_it() -> None:
    async with console("c-soft") as b:
        await to_treatment(b)
        await b.press("n")
        limits = b.controller.snapshot().limits
        assert limits is not None and limits.depth_soft_max is not None
        soft = limits.depth_soft_max.value
        steps = (soft - b.controller.snapshot().proposed.depth_um) // limits.depth_step_um
        for _ in range(steps):
            await b.press("up", ms=10)
        await b.press("up", ms=10)
        assert isinstance(b.app.screen, ReasonScreen)
        await b.pilot.press(*"thinning crown")
        await b.press("enter")
        proposed = b.controller.snapshot().proposed
        assert proposed.depth_um == soft + limits.depth_step_um
        assert proposed.confirm_reason == "thinning crown"
        await b.press("a", ms=200)
        assert b.controller.snapshot().confirmed.depth_um == soft + limits.depth_step_um


async def test_a_hard_limit_is_refused_naming_the_limit_and_its_layer() -> None:
    async with console("c-hard") as b:
        await to_treatment(b)
        await b.press("n")
        limits = b.controller.snapshot().limits
        assert limits is not None
        # Go to the hard maximum through the soft ceiling, then one step more.
        b.controller.submit(
            __import__("controller.actions", fromlist=["Adjust"]).Adjust(
                depth_um=limits.depth_max.value, confirm_reason="test"
            )
        )
        await b.wait(20)
        await b.press("up", ms=20)
        refusal = str(b.app.query_one("#refusal").render())
        assert "refused" in refusal and limits.depth_max.sentence.split(" ")[0] in refusal
        assert b.controller.snapshot().proposed.depth_um == limits.depth_max.value


async def test_link_loss_is_a_high_priority_alarm() -> None:
    async with console("c-link") as b:
        await to_treatment(b)
        await run_needle(b)
        b.pen.inject("silent", direction="both", for_ms=2000)
        await b.wait(600)
        snap = b.controller.snapshot()
        assert snap.device is Device.LINK_LOST
        assert snap.alarms[0].alarm_id == "LINK_LOST" and snap.alarms[0].priority == "high"
        assert "LINK_LOST" in str(b.app.query_one("#alarms").render())
        await b.wait(2000)
        assert not b.motor_running()  # the pen stopped itself by its lease (S5)


TREATMENT_KEYS = {
    "stop", "estop", "acknowledge", "journal", "depth_up", "depth_down", "speed_up",
    "speed_down", "arm", "start", "pause", "next_area", "finish", "quit",
}  # fmt: skip


async def test_every_key_of_the_treatment_step_shows_on_one_footer_line_at_150_columns() -> None:
    """The footer is where a practitioner finds the keys; one cut off at the edge (Finish, once)
    is a key nobody finds. The console is drawn for 160 columns; 150 must lose nothing."""
    with rig("footer-150") as r:
        async with r.app.run_test(size=(150, 48)) as pilot:
            b = await r.bench(pilot)
            await to_treatment(b)
            await run_needle(b)
            keys = list(b.app.query(FooterKey))
            assert {key.action for key in keys} >= TREATMENT_KEYS
            assert all(key.region.width > 0 and key.region.right <= 150 for key in keys)
