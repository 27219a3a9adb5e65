"""The pen's own safety duties (docs/protocol.md §7), each named by the invariant it serves."""

from __future__ import annotations

import pytest

from firmware_bridge.clock import NS_PER_MS
from firmware_bridge.protocol import (
    Ack,
    CartridgeState,
    ClearFault,
    EStop,
    EventCode,
    FaultCode,
    Hello,
    Lease,
    Nak,
    NakReason,
    PenState,
    SetParams,
    Start,
    Stop,
    StopReason,
)
from simulator.config import CartridgeSpec
from tests.simulator.testbench import make_bench


def test_s5_motor_stops_exactly_at_the_lease_deadline_and_the_fault_latches() -> None:
    b = make_bench().ready()
    b.advance_ms(3)
    granted_ns = b.clock.monotonic_ns()
    b.host.request(Lease(300))
    b.host.request(Start(1))
    b.advance_ms(299.999)
    assert b.fw.motor_running
    b.advance_ms(0.001)
    assert not b.fw.motor_running
    stopped = b.named("motor_stopped")[-1]
    assert stopped.t_ns == granted_ns + 300 * NS_PER_MS
    assert stopped.data["reason"] == "lease_expired"
    assert b.named("lease_expired")[-1].t_ns == granted_ns + 300 * NS_PER_MS
    assert b.fw.state is PenState.FAULTED
    assert b.fw.active_fault is FaultCode.LEASE_EXPIRED
    assert b.fw.model.speed_sps == 0  # braked, not ramped down
    b.advance_ms(100)
    events = b.host.events()
    tail = events[events.index(EventCode.LEASE_EXPIRED) :]
    assert tail == [EventCode.LEASE_EXPIRED, EventCode.FAULT_RAISED, EventCode.MOTOR_STOPPED]
    # Latched: nothing runs until the operator clears it and the set is confirmed again (S6).
    b.host.request(Lease(300))
    assert b.host.request(Start(1)).reason is NakReason.FAULT_ACTIVE
    assert isinstance(b.host.request(ClearFault(FaultCode.LEASE_EXPIRED)), Ack)
    assert b.fw.state is PenState.IDLE
    assert b.host.request(Start(1)).reason is NakReason.NO_PARAMS


def test_s5_renewed_lease_keeps_the_motor_running() -> None:
    b = make_bench().running()
    for _ in range(50):
        b.advance_ms(100)
        b.host.request(Lease(300))
    assert b.fw.state is PenState.RUNNING and b.fw.motor_running


def test_s5_a_lapse_while_stopped_is_not_a_fault() -> None:
    b = make_bench().ready()
    b.host.request(Lease(100))
    b.advance_ms(500)
    assert b.fw.state is PenState.READY
    assert b.fw.lease_remaining_ms == 0
    assert b.host.request(Start(1)).reason is NakReason.NO_LEASE


@pytest.mark.parametrize(("lease_ms", "detail"), [(49, 50), (1001, 1000), (0, 50)])
def test_lease_out_of_range_names_the_bound(lease_ms: int, detail: int) -> None:
    b = make_bench().identified()
    nak = b.host.request(Lease(lease_ms))
    assert isinstance(nak, Nak)
    assert (nak.reason, nak.detail) == (NakReason.LEASE_OUT_OF_RANGE, detail)


def test_s4_estop_latches_and_release_is_not_go() -> None:
    b = make_bench().running()
    ack = b.host.request(EStop(StopReason.OPERATOR))
    assert isinstance(ack, Ack) and ack.pen_state is PenState.ESTOPPED
    assert ack.param_version == 0  # the applied set is discarded
    assert not b.fw.motor_running and b.fw.model.speed_sps == 0
    assert b.host.request(Start(1)).reason is NakReason.ESTOPPED
    assert b.host.request(SetParams(2, 1000, 120)).reason is NakReason.ESTOPPED
    assert b.host.request(ClearFault(FaultCode.LEASE_EXPIRED)).reason is NakReason.WRONG_FAULT
    release = b.host.request(ClearFault(FaultCode.ESTOP))
    assert isinstance(release, Ack) and release.pen_state is PenState.IDLE
    b.advance_ms(200)
    assert not b.fw.motor_running
    assert b.host.request(Start(1)).reason is NakReason.NO_PARAMS
    assert [e.data["reason"] for e in b.named("motor_stopped")] == ["estop"]
    assert b.named("estop_engaged")[0].data["reason"] == "operator"


def test_s4_stop_and_estop_work_while_booting_and_before_hello() -> None:
    b = make_bench()
    assert isinstance(b.host.request(Stop(StopReason.OPERATOR)), Ack)
    assert isinstance(b.host.request(EStop(StopReason.HOST_FAULT)), Ack)
    b.booted()
    assert b.fw.state is PenState.ESTOPPED  # the latch survived the end of boot
    b.host.request(Hello(1))
    assert b.fw.state is PenState.ESTOPPED  # and a HELLO


def test_s4_estop_over_a_fault_keeps_both_latched() -> None:
    b = make_bench().running()
    b.advance_ms(400)
    b.host.request(EStop(StopReason.OPERATOR))
    assert b.fw.latched_faults == (FaultCode.LEASE_EXPIRED, FaultCode.ESTOP)
    assert isinstance(b.host.request(ClearFault(FaultCode.ESTOP)), Ack)
    assert b.fw.state is PenState.FAULTED
    assert isinstance(b.host.request(ClearFault(FaultCode.LEASE_EXPIRED)), Ack)
    assert b.fw.state is PenState.IDLE


def test_s3_set_params_while_running_takes_effect_through_the_model() -> None:
    b = make_bench().running()
    b.keep_running_ms(1000)
    assert b.fw.model.speed_sps == 120
    ack = b.host.request(SetParams(2, 1500, 150))
    assert isinstance(ack, Ack) and ack.pen_state is PenState.RUNNING
    b.keep_running_ms(300)
    assert b.fw.model.speed_sps == 150
    assert b.fw.model.depth_setpoint_um == 1500
    assert b.host.request(Start(1)).reason is NakReason.PARAM_VERSION_MISMATCH


@pytest.mark.parametrize(
    ("depth", "speed", "reason", "detail"),
    [
        (200, 100, NakReason.DEPTH_OUT_OF_RANGE, 250),
        (2550, 100, NakReason.DEPTH_OUT_OF_RANGE, 2500),
        (1025, 100, NakReason.OFF_STEP, 50),
        (1000, 50, NakReason.SPEED_OUT_OF_RANGE, 60),
        (1000, 160, NakReason.SPEED_OUT_OF_RANGE, 150),
        (1000, 105, NakReason.OFF_STEP, 10),
    ],
)
def test_s2_set_params_outside_the_pen_is_refused_naming_the_bound(
    depth: int, speed: int, reason: NakReason, detail: int
) -> None:
    b = make_bench().identified()
    nak = b.host.request(SetParams(1, depth, speed))
    assert isinstance(nak, Nak)
    assert (nak.reason, nak.detail) == (reason, detail)
    assert b.fw.applied is None


def test_s2_depth_beyond_the_cartridge_needle_is_refused() -> None:
    b = make_bench(cartridge=CartridgeSpec(needle_length_um=1500))
    b.identified()
    nak = b.host.request(SetParams(1, 1550, 100))
    assert (nak.reason, nak.detail) == (NakReason.EXCEEDS_CARTRIDGE, 1500)
    assert isinstance(b.host.request(SetParams(1, 1500, 100)), Ack)


def test_s3_param_versions_only_move_forward() -> None:
    b = make_bench().ready(version=5)
    nak = b.host.request(SetParams(5, 1000, 120))
    assert (nak.reason, nak.detail) == (NakReason.PARAM_VERSION_MISMATCH, 5)
    assert isinstance(b.host.request(SetParams(0x1_0004, 1000, 120)), Ack)
    nak = b.host.request(SetParams(3, 1000, 120))
    assert (nak.reason, nak.detail) == (NakReason.PARAM_VERSION_MISMATCH, 4)  # low 16 bits


def test_s1_start_needs_the_applied_version() -> None:
    b = make_bench().ready(version=3)
    b.host.request(Lease(300))
    nak = b.host.request(Start(2))
    assert (nak.reason, nak.detail) == (NakReason.PARAM_VERSION_MISMATCH, 3)
    assert isinstance(b.host.request(Start(3)), Ack)


@pytest.mark.parametrize(
    ("cartridge", "reason"),
    [
        (None, NakReason.NO_CARTRIDGE),
        (CartridgeSpec(readable=False), NakReason.NO_CARTRIDGE),
        (CartridgeSpec(expiry_yyyymmdd=20260531), NakReason.CARTRIDGE_EXPIRED),
        (CartridgeSpec(used=True), NakReason.CARTRIDGE_LOCKED_OUT),
    ],
)
def test_s1_start_needs_a_usable_cartridge(
    cartridge: CartridgeSpec | None, reason: NakReason
) -> None:
    b = make_bench(cartridge=cartridge).ready()
    b.host.request(Lease(300))
    assert b.host.request(Start(1)).reason is reason
    assert not b.fw.motor_running


def test_s8_a_cartridge_that_ran_is_locked_out_when_reseated() -> None:
    b = make_bench().running()
    b.host.request(Stop(StopReason.AREA_COMPLETE))
    assert b.fw.cartridge_state is CartridgeState.IN_USE
    b.pen.pull_cartridge()
    assert b.fw.state is PenState.IDLE  # removal discards the applied set
    b.pen.seat_cartridge()  # the same one, back in
    assert b.fw.cartridge_state is CartridgeState.LOCKED_OUT
    assert b.host.events()[-3:] == [
        EventCode.CARTRIDGE_REMOVED,
        EventCode.CARTRIDGE_INSERTED,
        EventCode.CARTRIDGE_REATTACHED,
    ]
    assert b.host.cartridges()[-1].state is CartridgeState.LOCKED_OUT
    b.host.request(SetParams(2, 1000, 120))
    b.host.request(Lease(300))
    assert b.host.request(Start(2)).reason is NakReason.CARTRIDGE_LOCKED_OUT


def test_s8_the_pen_remembers_serials_even_if_the_chip_says_unused() -> None:
    b = make_bench().running()
    b.host.request(Stop(StopReason.AREA_COMPLETE))
    b.pen.pull_cartridge()
    b.pen.seat_cartridge(CartridgeSpec())  # same serial, used flag clear
    assert b.fw.cartridge_state is CartridgeState.LOCKED_OUT
    b.pen.seat_cartridge(b.pen.fresh_cartridge())
    assert b.fw.cartridge_state is CartridgeState.FRESH


def test_s8_a_used_cartridge_reads_locked_out_after_a_reboot() -> None:
    b = make_bench().running()
    b.pen.reboot()
    b.booted()
    assert b.fw.cartridge_state is CartridgeState.LOCKED_OUT


def test_s6_cartridge_pulled_while_running_stops_and_latches() -> None:
    b = make_bench().running()
    b.pen.pull_cartridge()
    assert not b.fw.motor_running
    assert b.fw.active_fault is FaultCode.CARTRIDGE_REMOVED
    assert b.named("motor_stopped")[-1].data["reason"] == "cartridge_removed"
    assert b.host.events()[-3:] == [
        EventCode.CARTRIDGE_REMOVED,
        EventCode.FAULT_RAISED,
        EventCode.MOTOR_STOPPED,
    ]
    assert b.host.cartridges()[-1].state is CartridgeState.ABSENT
    assert isinstance(b.host.request(ClearFault(FaultCode.CARTRIDGE_REMOVED)), Ack)


def test_the_button_stops_the_motor_locally_and_is_not_a_fault() -> None:
    b = make_bench().running()
    b.pen.press_button()
    assert not b.fw.motor_running and b.fw.model.speed_sps == 0
    assert b.fw.state is PenState.READY and b.fw.active_fault is FaultCode.NONE
    assert b.host.events()[-2:] == [EventCode.BUTTON_STOP, EventCode.MOTOR_STOPPED]
    assert b.named("motor_stopped")[-1].data["reason"] == "button"
    b.host.request(Lease(300))
    assert isinstance(b.host.request(Start(1)), Ack)  # the host must START again


def test_s6_clear_fault_needs_the_active_fault_and_its_cause_gone() -> None:
    b = make_bench().running()
    b.pen.inject("overheat", to_c=50)
    b.advance_ms(50)
    assert b.fw.active_fault is FaultCode.OVER_TEMPERATURE
    nak = b.host.request(ClearFault(FaultCode.LEASE_EXPIRED))
    assert (nak.reason, nak.detail) == (NakReason.WRONG_FAULT, int(FaultCode.OVER_TEMPERATURE))
    nak = b.host.request(ClearFault(FaultCode.OVER_TEMPERATURE))
    assert (nak.reason, nak.detail) == (
        NakReason.FAULT_CAUSE_PRESENT,
        int(FaultCode.OVER_TEMPERATURE),
    )
    b.advance_ms(600_000)  # ten minutes to cool below the clear threshold
    assert b.fw.model.temperature_c < b.pen.config.over_temp_clear_c
    assert isinstance(b.host.request(ClearFault(FaultCode.OVER_TEMPERATURE)), Ack)
    assert b.fw.state is PenState.IDLE
