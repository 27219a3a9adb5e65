"""Every host command in every firmware state: accepted (and the state after), or refused with
the right NAK reason and detail. The expectations are written out here, independently of the
firmware's own gate table, from docs/protocol.md §4–§7."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_bridge.protocol import (
    Ack,
    ClearFault,
    EStop,
    EventCode,
    FaultCode,
    GetStatus,
    Hello,
    Lease,
    Message,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
    Telemetry,
)
from tests.simulator.testbench import Bench, make_bench


def _booting(b: Bench) -> None:
    """Power-on, boot not finished."""


def _unidentified(b: Bench) -> None:
    b.booted()


def _idle(b: Bench) -> None:
    b.identified()


def _ready(b: Bench) -> None:
    b.ready()  # version 1, no lease granted


def _running(b: Bench) -> None:
    b.running()


def _faulted(b: Bench) -> None:
    b.running()
    b.advance_ms(400)  # the lease lapses: LEASE_EXPIRED latched
    assert b.fw.state is PenState.FAULTED


def _estopped(b: Bench) -> None:
    b.identified()
    assert isinstance(b.host.request(EStop(StopReason.OPERATOR)), Ack)


SETUPS: dict[str, Callable[[Bench], None]] = {
    "booting": _booting,
    "unidentified": _unidentified,
    "idle": _idle,
    "ready": _ready,
    "running": _running,
    "faulted": _faulted,
    "estopped": _estopped,
}


def _clear(state: str) -> Message:
    return ClearFault(
        FaultCode.ESTOP if state in {"estopped", "booting"} else FaultCode.LEASE_EXPIRED
    )


COMMANDS: dict[str, Callable[[str], Message]] = {
    "HELLO": lambda _: Hello(1),
    "SET_PARAMS": lambda _: SetParams(2, 1500, 100),
    "START": lambda _: Start(1),
    "STOP": lambda _: Stop(StopReason.OPERATOR),
    "ESTOP": lambda _: EStop(StopReason.OPERATOR),
    "CLEAR_FAULT": _clear,
    "LEASE": lambda _: Lease(300),
    "GET_STATUS": lambda _: GetStatus(),
}

B, ID, R, U, F, E = (
    PenState.BOOTING,
    PenState.IDLE,
    PenState.READY,
    PenState.RUNNING,
    PenState.FAULTED,
    PenState.ESTOPPED,
)
N = NakReason

# state -> command -> ("ack", state after) | ("nak", reason, detail)
EXPECTED: dict[str, dict[str, tuple]] = {
    "booting": {
        "HELLO": ("nak", N.BAD_STATE, int(B)),
        "SET_PARAMS": ("nak", N.BAD_STATE, int(B)),
        "START": ("nak", N.BAD_STATE, int(B)),
        "STOP": ("ack", B),
        "ESTOP": ("ack", B),
        "CLEAR_FAULT": ("nak", N.BAD_STATE, int(B)),
        "LEASE": ("nak", N.BAD_STATE, int(B)),
        "GET_STATUS": ("nak", N.BAD_STATE, int(B)),
    },
    "unidentified": {
        "HELLO": ("ack", ID),
        "SET_PARAMS": ("nak", N.NOT_IDENTIFIED, 0),
        "START": ("nak", N.NOT_IDENTIFIED, 0),
        "STOP": ("ack", ID),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("nak", N.NOT_IDENTIFIED, 0),
        "LEASE": ("nak", N.NOT_IDENTIFIED, 0),
        "GET_STATUS": ("nak", N.NOT_IDENTIFIED, 0),
    },
    "idle": {
        "HELLO": ("ack", ID),
        "SET_PARAMS": ("ack", R),
        "START": ("nak", N.NO_PARAMS, 0),
        "STOP": ("ack", ID),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("nak", N.BAD_STATE, int(ID)),
        "LEASE": ("ack", ID),
        "GET_STATUS": ("ack", ID),
    },
    "ready": {
        "HELLO": ("ack", ID),
        "SET_PARAMS": ("ack", R),
        "START": ("nak", N.NO_LEASE, 0),
        "STOP": ("ack", R),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("nak", N.BAD_STATE, int(R)),
        "LEASE": ("ack", R),
        "GET_STATUS": ("ack", R),
    },
    "running": {
        "HELLO": ("ack", ID),
        "SET_PARAMS": ("ack", U),
        "START": ("ack", U),
        "STOP": ("ack", R),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("nak", N.BAD_STATE, int(U)),
        "LEASE": ("ack", U),
        "GET_STATUS": ("ack", U),
    },
    "faulted": {
        "HELLO": ("ack", F),
        "SET_PARAMS": ("nak", N.FAULT_ACTIVE, int(FaultCode.LEASE_EXPIRED)),
        "START": ("nak", N.FAULT_ACTIVE, int(FaultCode.LEASE_EXPIRED)),
        "STOP": ("ack", F),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("ack", ID),
        "LEASE": ("ack", F),
        "GET_STATUS": ("ack", F),
    },
    "estopped": {
        "HELLO": ("ack", E),
        "SET_PARAMS": ("nak", N.ESTOPPED, 0),
        "START": ("nak", N.ESTOPPED, 0),
        "STOP": ("ack", E),
        "ESTOP": ("ack", E),
        "CLEAR_FAULT": ("ack", ID),
        "LEASE": ("ack", E),
        "GET_STATUS": ("ack", E),
    },
}

CASES = [(state, command) for state in EXPECTED for command in EXPECTED[state]]


def test_the_table_covers_every_state_and_command() -> None:
    assert set(EXPECTED) == set(SETUPS)
    assert all(set(row) == set(COMMANDS) for row in EXPECTED.values())


@pytest.mark.parametrize(("state", "command"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_command_in_state(state: str, command: str) -> None:
    b = make_bench()
    SETUPS[state](b)
    b.host.poll()
    expected = EXPECTED[state][command]
    reply = b.host.request(COMMANDS[command](state))
    if expected[0] == "ack":
        assert isinstance(reply, Ack), reply
        assert reply.pen_state is expected[1]
        assert b.fw.state is expected[1]
    else:
        assert isinstance(reply, Nak), reply
        assert (reply.reason, reply.detail) == expected[1:]


def test_refusals_change_nothing() -> None:
    """A NAK means the pen changed nothing (docs/protocol.md §4 NAK)."""
    b = make_bench().ready()
    before = (b.fw.state, b.fw.applied, b.fw.lease_deadline_ns)
    assert isinstance(b.host.request(SetParams(5, 9999, 120)), Nak)
    assert isinstance(b.host.request(Start(1)), Nak)  # no lease
    assert isinstance(b.host.request(ClearFault(FaultCode.ESTOP)), Nak)
    assert (b.fw.state, b.fw.applied, b.fw.lease_deadline_ns) == before


def test_ack_echoes_the_applied_set_and_its_crc() -> None:
    """S3: the ACK carries what the pen applied, with params_crc, so the host checks the echo."""
    from firmware_bridge.protocol import params_crc

    b = make_bench().identified()
    ack = b.host.request(SetParams(7, 1250, 110))
    assert isinstance(ack, Ack)
    assert (ack.param_version, ack.depth_um, ack.speed_sps) == (7, 1250, 110)
    assert ack.params_crc == params_crc(7, 1250, 110)


def test_hello_answers_ack_identify_cartridge_then_streams_telemetry() -> None:
    b = make_bench().booted()
    b.host.poll()
    seq = b.host.send(Hello(1))
    kinds = [type(m).__name__ for m in b.host.poll()]
    assert kinds == ["Ack", "Identify", "Cartridge"]
    assert b.host.reply(seq).ack_type.name == "HELLO"
    b.advance_ms(500)
    counters = [t.counter for t in b.host.telemetry()]
    assert counters == list(range(10))  # every 50 ms, counted from 0 after HELLO


def test_hello_while_running_stops_the_motor_with_host_reset() -> None:
    b = make_bench().running()
    ack = b.host.request(Hello(1))
    assert isinstance(ack, Ack)
    assert ack.pen_state is PenState.IDLE and ack.param_version == 0
    assert not b.fw.motor_running
    stopped = [e for e in b.named("motor_stopped")]
    assert stopped[-1].data["reason"] == "host_reset"
    assert b.host.events()[-1] is EventCode.MOTOR_STOPPED


def test_hello_resets_the_version_floor() -> None:
    b = make_bench().ready(version=40)
    assert b.host.request(SetParams(40, 1000, 120)).reason is NakReason.PARAM_VERSION_MISMATCH
    b.host.request(Hello(1))
    assert isinstance(b.host.request(SetParams(1, 1000, 120)), Ack)


def test_hello_with_another_protocol_version_is_refused() -> None:
    b = make_bench().booted()
    nak = b.host.request(Hello(2))
    assert isinstance(nak, Nak)
    assert (nak.reason, nak.detail) == (NakReason.VERSION_MISMATCH, 1)
    assert not b.fw.identified


def test_get_status_answers_ack_then_telemetry_and_cartridge_out_of_schedule() -> None:
    b = make_bench().identified()
    b.host.poll()
    b.host.send(GetStatus())
    assert [type(m).__name__ for m in b.host.poll()] == ["Ack", "Telemetry", "Cartridge"]
    b.advance_ms(50)
    counters = [t.counter for t in b.host.telemetry()]
    assert counters == [0, 1]  # the out-of-schedule sample counts too


def test_start_then_events_follow_the_ack() -> None:
    """docs/protocol.md §3: ACK first, then the EVENT the command caused."""
    b = make_bench().ready()
    b.host.request(Lease(300))
    b.host.poll()
    b.host.send(Start(1))
    messages = b.host.poll()
    assert isinstance(messages[0], Ack)
    assert messages[1].event is EventCode.MOTOR_STARTED
    assert messages[1].detail == 1  # the applied version, low 16 bits


def test_telemetry_reports_the_state_the_pen_is_in() -> None:
    b = make_bench().running()
    b.advance_ms(100)
    sample = b.host.telemetry()[-1]
    assert isinstance(sample, Telemetry)
    assert sample.pen_state is PenState.RUNNING
    assert sample.param_version == 1
    assert 0 < sample.lease_remaining_ms <= 300
