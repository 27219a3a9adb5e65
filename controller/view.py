"""Building the snapshot from the owner's state (called by the owner only, after each event)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.snapshot import (
    AlarmView,
    AreaView,
    BoundView,
    LimitsView,
    ParamsView,
    PenView,
    Snapshot,
    TelemetryView,
)
from firmware_bridge.clock import NS_PER_MS, NS_PER_S

if TYPE_CHECKING:
    from controller.core import Controller
    from profiles import Bound

_PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def build_snapshot(ctl: Controller) -> Snapshot:
    progress = ctl.progress
    pen = ctl.pen
    return Snapshot(
        at_ns=ctl.now_ns(),
        actions_handled=ctl.actions_handled,
        step=ctl.step,
        device=ctl.device_state,
        link="closed" if pen is None else pen.status().link.value,
        pen=_pen(ctl),
        patient=progress.patient,
        profile=None if progress.profile is None else progress.profile.name,
        area=progress.area,
        areas=tuple(
            AreaView(
                a.area,
                a.passes,
                a.time_now_ns(ctl.now_ns()) // NS_PER_MS,
                a.max_passes,
                a.max_time_ns // NS_PER_MS,
                a.done,
            )
            for a in progress.areas.values()
        ),
        limits=_limits(ctl),
        proposed=_params(progress.proposed),
        confirmed=_params(progress.confirmed),
        telemetry=_telemetry(ctl),
        alarms=tuple(
            sorted(
                (
                    AlarmView(
                        a.alarm_id, a.priority, a.what, a.did, a.next, a.latched, a.raised_at_ns
                    )
                    for a in ctl.alarms
                ),
                key=lambda a: (_PRIORITY_ORDER[a.priority], -a.raised_at_ns),
            )
        ),
        numbing_remaining_ms=_numbing_remaining_ms(ctl),
        checklist=progress.checklist(ctl.library.policy.numbing.min_dwell_s * NS_PER_S),
        follow_up=progress.follow_up,
        journal_dir=str(ctl.journal.directory),
        session_number=ctl.journal.last_session,
        head_fingerprint=ctl.journal.head_fingerprint,
        witness_error=ctl.journal.witness_error,
        link_quality={} if pen is None else _quality(pen.stats()),
        last_refusal=ctl.last_refusal,
    )


def _pen(ctl: Controller) -> PenView | None:
    identify = ctl.facts.identify
    if identify is None:
        return None
    cartridge = ctl.facts.cartridge
    expiry = None
    if cartridge is not None and cartridge.expiry_yyyymmdd:
        text = str(cartridge.expiry_yyyymmdd)
        expiry = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return PenView(
        model=identify.model,
        serial=identify.serial_number,
        firmware=identify.firmware_version,
        cartridge_serial=None if cartridge is None else cartridge.serial or None,
        cartridge_state=None if cartridge is None else cartridge.state.name,
        needle_length_um=None if cartridge is None else cartridge.needle_length_um,
        expiry=expiry,
    )


def _bound(bound: Bound) -> BoundView:
    return BoundView(bound.value, bound.layer.value, bound.sentence)


def _limits(ctl: Controller) -> LimitsView | None:
    limits = ctl.limits
    if limits is None:
        return None
    soft = limits.soft_depth_max
    return LimitsView(
        depth_min=_bound(limits.depth_min),
        depth_max=_bound(limits.depth_max),
        depth_soft_max=None if soft is None else _bound(soft),
        speed_min=_bound(limits.speed_min),
        speed_max=_bound(limits.speed_max),
        depth_step_um=limits.depth_step_um,
        speed_step_sps=limits.speed_step_sps,
    )


def _params(params: object) -> ParamsView | None:
    if params is None:
        return None
    return ParamsView(
        params.depth_um,  # type: ignore[attr-defined]
        params.speed_sps,  # type: ignore[attr-defined]
        params.param_version,  # type: ignore[attr-defined]
        params.confirm_reason,  # type: ignore[attr-defined]
    )


def _telemetry(ctl: Controller) -> TelemetryView | None:
    frame = ctl.facts.telemetry
    if frame is None:
        return None
    return TelemetryView(
        depth_um=frame.depth_um,
        speed_sps=frame.speed_sps,
        current_ma=frame.motor_current_ma,
        temperature_cdeg=frame.temperature_cdeg,
        battery_pct=frame.battery_pct,
        motor=frame.motor_state.name,
        pen_state=frame.pen_state.name,
        lease_remaining_ms=frame.lease_remaining_ms,
        depth_history_um=tuple(ctl.facts.depth_history),
        speed_history_sps=tuple(ctl.facts.speed_history),
    )


def _numbing_remaining_ms(ctl: Controller) -> int | None:
    progress = ctl.progress
    if progress.numbing_applied_ns is None or progress.numbing_removed_ns is not None:
        return None
    dwell_ns = ctl.library.policy.numbing.min_dwell_s * NS_PER_S
    left_ns = progress.numbing_applied_ns + dwell_ns - ctl.now_ns()
    return max(0, -(-left_ns // NS_PER_MS))  # rounded up: "reached" only once it is


def _quality(stats: dict[str, object]) -> dict[str, int]:
    errors = stats.get("receive_errors", {})
    return {
        "frames_in": int(stats["frames_in"]),  # type: ignore[call-overload]
        "bad_frames": sum(errors.values()) if isinstance(errors, dict) else 0,
        "retransmits": int(stats["retransmits"]),  # type: ignore[call-overload]
        "telemetry_gaps": int(stats["telemetry_gaps"]),  # type: ignore[call-overload]
    }
