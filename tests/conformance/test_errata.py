"""protocol.md §10, the errata of version 1: every entry names what checks it, and the bundled
simulator is held to each statement, by the kit's cases, the golden vectors or a test here."""

from __future__ import annotations

import json
import re
import sys

import pytest

from firmware_bridge.conformance import CASES, Outcome
from firmware_bridge.protocol import (
    MESSAGES,
    Ack,
    ClearFault,
    Decoder,
    EStop,
    Event,
    EventCode,
    FaultCode,
    GetStatus,
    Hello,
    Lease,
    MotorState,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    Telemetry,
    encode,
)
from firmware_bridge.protocol.framing import cobs_decode
from tests.conformance.hands import run_virtual
from tests.firmware_bridge.spec_reader import DOC_PATH, VECTORS_PATH
from tests.simulator.testbench import Bench, make_bench

DOC = DOC_PATH.read_text(encoding="utf-8")
ERRATA_TEXT = DOC[DOC.index("## 10. Errata") :]
ENTRIES = {
    match.group(1): match.group(2)
    for match in re.finditer(r"^- \*\*(E\d+)\.(.*?)(?=^- \*\*E|\Z)", ERRATA_TEXT, re.M | re.S)
}
VECTOR_NAMES = {v["name"] for v in json.loads(VECTORS_PATH.read_text())["vectors"]}


def _checkers(entry: str) -> tuple[list[str], list[str], list[str]]:
    text = " ".join(ENTRIES[entry].split("Checked by:")[-1].split())
    return (
        re.findall(r"case `([a-z-]+)`", text),
        re.findall(r'vector "([^"]+)"', text),
        re.findall(r"test `(test_\w+)`", text),
    )


def test_the_errata_run_from_e1_to_e21() -> None:
    assert list(ENTRIES) == [f"E{n}" for n in range(1, 22)]


@pytest.mark.parametrize("entry", sorted(ENTRIES, key=lambda e: int(e[1:])))
def test_every_erratum_names_checks_that_exist(entry: str) -> None:
    cases, vectors, tests = _checkers(entry)
    assert cases or vectors or tests, f"{entry} names nothing that checks it"
    assert set(cases) <= {case.id for case in CASES}
    assert set(vectors) <= VECTOR_NAMES
    assert all(callable(getattr(sys.modules[__name__], name, None)) for name in tests), tests


def test_the_simulator_passes_every_case_the_errata_name() -> None:
    named = {case for entry in ENTRIES for case in _checkers(entry)[0]}
    results = {r.id: r for r in run_virtual().run.results}
    assert {case: results[case].outcome for case in named} == dict.fromkeys(named, Outcome.PASSED)


def test_a_flipped_code_byte_changes_many_bits_after_decoding() -> None:
    """E2: the CRC's "every 1, 2 or 3 bit error" is about the decoded frame, not the wire."""
    vectors = {v["name"]: v for v in json.loads(VECTORS_PATH.read_text())["vectors"]}
    flipped = bytes.fromhex(vectors["wire bit flip in a COBS code byte: bad crc"]["frame_hex"])
    original = encode(SetParams(256, 1024, 60), 3)
    assert sum(bin(a ^ b).count("1") for a, b in zip(flipped, original, strict=True)) == 1
    before, after = cobs_decode(original[:-1]), cobs_decode(flipped[:-1])
    assert before is not None and after is not None and len(before) == len(after)
    assert sum(bin(a ^ b).count("1") for a, b in zip(before, after, strict=True)) > 3


def test_every_payload_size_is_stated() -> None:
    """E17: §4 gives each message's payload size as a number."""
    for code, cls in MESSAGES.items():
        title = f"### 0x{code:02X} {cls.TYPE.name} "
        section = DOC[DOC.index(title) :].split("\n### ", 1)[0]
        size = cls.STRUCT.size
        stated = "No payload (length 0)" if size == 0 else f"Payload: **{size}** byte"
        assert stated in section, cls.TYPE.name


def _telemetry_now(bench: Bench) -> Telemetry:
    bench.advance_ms(bench.pen.config.telemetry_period_ms)
    return bench.host.telemetry()[-1]


def test_a_fault_raised_during_an_estop_latches_beneath_it() -> None:
    """E4, S4, S6: the e-stop stays on top; releasing it leaves the pen FAULTED, not IDLE."""
    bench = make_bench().identified()
    assert isinstance(bench.host.request(EStop(StopReason.OPERATOR)), Ack)
    bench.pen.inject("overheat", to_c=50.0)
    bench.advance_ms(100)
    assert bench.fw.latched_faults == (FaultCode.OVER_TEMPERATURE, FaultCode.ESTOP)
    assert _telemetry_now(bench).active_fault is FaultCode.ESTOP
    wrong = bench.host.request(ClearFault(FaultCode.OVER_TEMPERATURE))
    assert isinstance(wrong, Nak) and (wrong.reason, wrong.detail) == (
        NakReason.WRONG_FAULT,
        int(FaultCode.ESTOP),
    )
    released = bench.host.request(ClearFault(FaultCode.ESTOP))
    assert isinstance(released, Ack) and released.pen_state is PenState.FAULTED
    assert _telemetry_now(bench).active_fault is FaultCode.OVER_TEMPERATURE
    bench.pen.inject("overheat", to_c=30.0)
    cleared = bench.host.request(ClearFault(FaultCode.OVER_TEMPERATURE))
    assert isinstance(cleared, Ack) and cleared.pen_state is PenState.IDLE


def test_a_refused_hello_changes_nothing() -> None:
    """E5: HELLO(2) keeps the state, the set, the lease, the memory and the telemetry stream."""
    bench = make_bench().ready()
    assert isinstance(bench.host.request(Lease(1000)), Ack)
    remembered = bench.host.send(GetStatus())
    counter = _telemetry_now(bench).counter
    refused = bench.host.request(Hello(2))
    assert isinstance(refused, Nak)
    assert (refused.reason, refused.detail) == (NakReason.VERSION_MISMATCH, 1)
    status = bench.host.request(GetStatus())
    assert isinstance(status, Ack)
    assert (status.pen_state, status.param_version) == (PenState.READY, 1)
    assert status.lease_remaining_ms > 0
    assert _telemetry_now(bench).counter > counter  # the stream was not restarted
    before = len(bench.host.cartridges())
    bench.host.send(GetStatus(), seq=remembered, flags=1)
    bench.advance_ms(1)
    assert len(bench.host.cartridges()) == before  # answered from the memory, not executed


def test_set_params_while_running_takes_effect_at_once() -> None:
    """E7, S3: the new set is echoed, the motor follows it, and START must name it."""
    bench = make_bench().running()
    ack = bench.host.request(SetParams(2, 1500, 80))
    assert isinstance(ack, Ack)
    assert (ack.pen_state, ack.param_version, ack.depth_um, ack.speed_sps) == (
        PenState.RUNNING,
        2,
        1500,
        80,
    )
    bench.keep_running_ms(500)
    sample = bench.host.telemetry()[-1]
    assert (sample.param_version, sample.speed_sps) == (2, 80)
    old = bench.host.request(Start(1))
    assert isinstance(old, Nak) and (old.reason, old.detail) == (
        NakReason.PARAM_VERSION_MISMATCH,
        2,
    )
    assert bench.fw.state is PenState.RUNNING


def test_commands_before_hello() -> None:
    """E7, E8: while booting BAD_STATE (detail BOOTING), then NOT_IDENTIFIED until a HELLO."""
    bench = make_bench()
    booting = bench.host.request(SetParams(1, 500, 100))
    assert isinstance(booting, Nak) and (booting.reason, booting.detail) == (NakReason.BAD_STATE, 0)
    bench.booted()
    unknown = bench.host.request(SetParams(1, 500, 100))
    assert isinstance(unknown, Nak) and unknown.reason is NakReason.NOT_IDENTIFIED


def test_stop_coasts() -> None:
    """E10, S4: after STOP the pen is READY at once and TELEMETRY shows the ramp down."""
    bench = make_bench().running()
    bench.keep_running_ms(400)
    ack = bench.host.request(Stop(StopReason.OPERATOR))
    assert isinstance(ack, Ack) and (ack.pen_state, ack.param_version) == (PenState.READY, 1)
    states = []
    for _ in range(6):
        bench.advance_ms(20)
        states.append(bench.host.telemetry()[-1].motor_state)
    assert MotorState.RAMPING_DOWN in states and states[-1] is MotorState.STOPPED
    stopped = [
        f.message
        for f in bench.host.frames
        if isinstance(f.message, Event) and f.message.event is EventCode.MOTOR_STOPPED
    ]
    assert [e.detail for e in stopped] == [int(StopReason.OPERATOR)]


def test_an_estop_while_booting_is_the_first_frame() -> None:
    """E16, S4: after a reboot the pen's first frame has seq 0, here the ESTOP's ACK."""
    bench = make_bench().identified()
    bench.pen.inject("reboot")
    bench.host.poll()
    seen = len(bench.host.frames)
    assert isinstance(bench.host.request(EStop(StopReason.BUTTON)), Ack)
    bench.booted().host.poll()
    after = bench.host.frames[seen:]
    assert [f.seq for f in after[:3]] == [0, 1, 2]
    kinds = [type(f.message).__name__ for f in after[:3]]
    assert kinds == ["Ack", "Event", "Event"]
    events = [f.message for f in after[1:3] if isinstance(f.message, Event)]
    assert [(e.event_counter, e.event) for e in events] == [
        (0, EventCode.ESTOP_ENGAGED),
        (1, EventCode.BOOT),
    ]
    assert Decoder().feed(b"\x00\x00") == []  # E1: empty frames are nothing at all
