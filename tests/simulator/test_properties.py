"""Random command sequences, time and physical events never leave the motor running without
everything S1 demands (and S4/S5 hold throughout)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    ClearFault,
    EStop,
    FaultCode,
    GetStatus,
    Hello,
    Lease,
    Nak,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from simulator.config import CartridgeSpec
from tests.simulator.testbench import Bench, make_bench

_versions = st.integers(0, 3)
_commands = st.one_of(
    st.builds(Hello, st.sampled_from([1, 1, 1, 2])),
    st.builds(
        SetParams,
        _versions,
        st.sampled_from([250, 1000, 1500, 2500, 2600, 1025]),
        st.sampled_from([60, 120, 150, 155]),
    ),
    st.builds(Start, _versions),
    st.builds(Start, _versions),
    st.builds(Stop, st.sampled_from(list(StopReason))),
    st.builds(EStop, st.sampled_from(list(StopReason))),
    st.builds(ClearFault, st.sampled_from(list(FaultCode))),
    st.builds(Lease, st.sampled_from([10, 50, 300, 1000, 2000])),
    st.just(GetStatus()),
)
_operations = st.one_of(
    st.tuples(st.just("command"), _commands),
    st.tuples(st.just("session"), st.booleans()),  # a fresh set, a lease or not, START
    st.tuples(st.just("session"), st.booleans()),
    st.tuples(st.just("wait"), st.integers(0, 150)),
    st.tuples(st.just("wait"), st.integers(0, 700)),
    st.tuples(
        st.just("hand"),
        st.sampled_from(
            [
                ("button", {}),
                ("pull_cartridge", {}),
                ("seat_cartridge", {}),
                ("seat_cartridge", {"fresh": True}),
                ("seat_cartridge", {"fresh": True, "needle_length_um": 1000}),
                ("stall", {"load": 1.0, "for_ms": 300}),
                ("stall", {"load": 0.5, "for_ms": 1000}),
                ("overheat", {"to_c": 46.0}),
                ("drain_battery", {"to_pct": 4}),
                ("charge_battery", {}),
                ("depth_drift", {"rate_um_per_s": 2000, "for_ms": 500}),
                ("reboot", {}),
            ]
        ),
    ),
)


def _check_invariants(b: Bench, sent: int) -> None:
    fw = b.fw
    now = b.clock.monotonic_ns()
    if fw.motor_running:
        # S1 / S5 as the pen can see them.
        assert fw.state is PenState.RUNNING
        assert fw.applied is not None
        assert fw.lease_deadline_ns > now
        assert fw.cartridge_state is CartridgeState.IN_USE
        assert fw.latched_faults == ()
    if fw.state is PenState.RUNNING:
        assert fw.motor_running
    if FaultCode.ESTOP in fw.latched_faults:
        assert fw.state in (PenState.ESTOPPED, PenState.BOOTING)  # S4: latched until cleared
    if fw.applied is not None and fw.cartridge is not None and fw.cartridge.readable:
        assert fw.applied.depth_um <= fw.cartridge.needle_length_um  # S2
    if fw.latched_faults:
        assert fw.applied is None  # S6: a fault discards the set; it must be confirmed again
    replies = [f for f in b.host.frames if isinstance(f.message, Ack | Nak)]
    assert len(replies) == sent  # every host frame gets exactly one ACK or NAK


@settings(max_examples=300, deadline=None)
@given(st.lists(_operations, min_size=5, max_size=50), st.integers(0, 3))
def test_s1_the_motor_never_runs_without_its_preconditions(
    operations: list[tuple[str, Any]], seed: int
) -> None:
    b = make_bench(seed=seed, cartridge=CartridgeSpec())
    b.advance_ms(250)
    b.host.send(Hello(1))
    sent, version = 1, 100
    for kind, value in operations:
        if kind == "command":
            b.host.send(value)
            sent += 1
        elif kind == "session":
            version += 1
            b.host.send(SetParams(version, 1000, 120))
            if value:
                b.host.send(Lease(300))
            b.host.send(Start(version))
            sent += 3 if value else 2
        elif kind == "wait":
            b.advance_ms(value)
        else:
            action, params = value
            b.pen.inject(action, **params)
        b.host.poll()
        _check_invariants(b, sent)
