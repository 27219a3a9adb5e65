"""One line of plain language per record, and the units people read (millimetres, minutes).

Used by `penctl audit show`, the CSV export and the HTML report, so all three say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from controller.journal.format import Record


def format_depth(depth_um: int) -> str:
    """Micrometres as millimetres with at least two decimals: 500 → `0.50 mm`, 1005 → `1.005 mm`."""
    whole_mm, rest_um = divmod(depth_um, 1000)
    text = f"{whole_mm}.{rest_um:03d}"
    return (text[:-1] if text.endswith("0") else text) + " mm"


def format_speed(speed_sps: int) -> str:
    return f"{speed_sps} strokes/s"


def format_duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def area_name(area: str) -> str:
    return area.replace("_", " ")


_ROMAN = ("I", "II", "III", "IV", "V", "VI")


def skin_type(fitzpatrick: int) -> str:
    """Fitzpatrick types as people write them: 3 → `III`."""
    return _ROMAN[fitzpatrick - 1] if 1 <= fitzpatrick <= len(_ROMAN) else str(fitzpatrick)


def _words(identifier: str) -> str:
    return identifier.replace("_", " ")


def _params(data: dict) -> str:
    return (
        f"{area_name(data['area'])} {format_depth(data['depth_um'])}, "
        f"{format_speed(data['speed_sps'])}"
    )


def _session_open(d: dict) -> str:
    cartridge = (
        f"cartridge {d['cartridge_serial']} lot {d.get('cartridge_lot') or '—'}"
        if d.get("cartridge_serial")
        else "no cartridge fitted yet"
    )
    return (
        f"session opened by {d['operator_id']} for patient {d['patient_pseudonym']}; "
        f"pen {d['device_serial']} (firmware {d['firmware_version']}), {cartridge}, "
        f"profile {d['profile_name']}"
    )


def _intake(d: dict) -> str:
    areas = ", ".join(area_name(area) for area in d["areas"])
    if d.get("last_session_date"):
        earliest = d.get("earliest_allowed_date")
        history = f"last treated {d['last_session_date']}" + (
            f", earliest {earliest}" if earliest else ""
        )
    else:
        history = "no earlier treatment of these areas on record"
    return (
        f"intake: {d['profile_name']} on {areas}; skin type {skin_type(d['skin_type'])}; "
        f"{d['level']}; {history}"
    )


def _override(d: dict) -> str:
    detail = f" ({d['detail']})" if d.get("detail") else ""
    return f"override: {_words(d['rule'])} set aside: {d['reason']}{detail}"


def _plan(d: dict) -> str:
    count = d["planned_sessions"]
    sessions = f"{count} session" + ("" if count == 1 else "s")
    return f"plan: {sessions}, {d['spacing_days']} days apart; explained: " + " ".join(
        d["expectations"]
    )


def _cartridge(d: dict) -> str:
    return (
        f"cartridge {d['serial']} lot {d['lot']} fitted: {d['needle_count']} needles, "
        f"{format_depth(d['needle_length_um'])} long, expires {d['expiry']}, "
        f"{_words(d['state'].lower())}"
    )


def _action_refused(d: dict) -> str:
    return f"{_words(d['action'])} refused: {d['reason']}"


def _checklist(d: dict) -> str:
    note = f" ({d['note']})" if d.get("note") else ""
    return f"checklist: {d['question']}: {d['answer'].replace('_', ' ')}{note}"


def _consent(d: dict) -> str:
    given = "given" if d["given"] else "NOT given"
    witness = f", witnessed by {d['witness']}" if d.get("witness") else ""
    return (
        f"consent {given} ({d['method']}) on form {d['form_id']} "
        f"version {d['form_version']}{witness}"
    )


def _numbing(d: dict) -> str:
    removed = f", removed {d['removed_at']}" if d.get("removed_at") else ", not removed yet"
    return f"numbing: {d['agent']} applied {d['applied_at']}{removed}"


def _params_requested(d: dict) -> str:
    why = f"; soft limit confirmed: {d['override_reason']}" if d.get("override_reason") else ""
    return f"parameters v{d['param_version']} requested: {_params(d)}{why}"


def _params_applied(d: dict) -> str:
    match_text = "" if d["matches_request"] else " — DOES NOT MATCH the request"
    return f"parameters v{d['param_version']} confirmed by the pen: {_params(d)}{match_text}"


def _needle_start(d: dict) -> str:
    return f"needle started: {_params(d)} (parameters v{d['param_version']})"


def _needle_stop(d: dict) -> str:
    detail = f": {d['detail']}" if d.get("detail") else ""
    return f"needle stopped ({d['reason'].replace('_', ' ')}){detail}"


def _area_pass(d: dict) -> str:
    return (
        f"pass {d['pass_number']} over {area_name(d['area'])} done in "
        f"{format_duration(d['duration_ms'] / 1000)} at {format_depth(d['depth_um'])}, "
        f"{format_speed(d['speed_sps'])}"
    )


def _alarm(d: dict) -> str:
    frames = f" [{len(d['raw_frames'])} raw frames]" if d["raw_frames"] else ""
    return (
        f"{d['priority'].upper()} alarm {d['alarm_id']} ({d['condition']}): {d['message']}{frames}"
    )


def _fault(d: dict) -> str:
    latched = "latched fault" if d["latched"] else "fault"
    frames = f" [{len(d['raw_frames'])} raw frames]" if d["raw_frames"] else ""
    return f"{latched} {d['fault_id']} ({d['cause']}): {d['message']}{frames}"


def _operator_ack(d: dict) -> str:
    note = f": {d['note']}" if d.get("note") else ""
    return f"{d['subject']} {d['action']}{note}"


def _state_change(d: dict) -> str:
    return f"{d['machine']}: {d['from_state']} → {d['to_state']} ({d['trigger']})"


def _aftercare(d: dict) -> str:
    return f"aftercare sheet {d['sheet_id']} v{d['sheet_version']} given ({d['method']})"


def _follow_up(d: dict) -> str:
    note = f" ({d['note']})" if d.get("note") else ""
    return f"follow-up booked for {d['date']}{note}"


def _photo(d: dict) -> str:
    area = f" of {area_name(d['area'])}" if d.get("area") else ""
    return f"{d['phase']} photo{area}: {d['path']} (sha256 {d['sha256'][:12]}…)"


def _correction(d: dict) -> str:
    return (
        f"correction of record {d['refers_to_seq']}: {d['field']} "
        f"{d['before']!r} → {d['after']!r} because {d['reason']}"
    )


def _session_close(d: dict) -> str:
    return f"session closed: {d['outcome']} ({d['reason']})"


def _checkpoint(d: dict) -> str:
    return f"checkpoint: records up to {d['covers_seq']} signed with Ed25519 key {d['key_id']}"


def _key_handover(d: dict) -> str:
    return (
        f"signing key handed over from {d['old_key_id']} to {d['new_key_id']} "
        f"(signed by {d['old_key_id']}): {d['reason']}"
    )


def _recovery(d: dict) -> str:
    kept_bytes = sum(item["bytes"] for item in d["kept_aside"])
    kept = f"; {kept_bytes} bytes of an unfinished record kept aside" if kept_bytes else ""
    return f"recovered after a crash: last good record {d['last_good_seq']}{kept}"


_DESCRIBE: dict[str, Callable[[dict], str]] = {
    "SESSION_OPEN": _session_open,
    "INTAKE": _intake,
    "OVERRIDE": _override,
    "PLAN": _plan,
    "CARTRIDGE": _cartridge,
    "ACTION_REFUSED": _action_refused,
    "CHECKLIST": _checklist,
    "CONSENT": _consent,
    "NUMBING": _numbing,
    "PARAMS_REQUESTED": _params_requested,
    "PARAMS_APPLIED": _params_applied,
    "NEEDLE_START": _needle_start,
    "NEEDLE_STOP": _needle_stop,
    "AREA_PASS": _area_pass,
    "ALARM": _alarm,
    "FAULT": _fault,
    "OPERATOR_ACK": _operator_ack,
    "STATE_CHANGE": _state_change,
    "AFTERCARE": _aftercare,
    "FOLLOW_UP": _follow_up,
    "PHOTO": _photo,
    "CORRECTION": _correction,
    "SESSION_CLOSE": _session_close,
    "CHECKPOINT": _checkpoint,
    "KEY_HANDOVER": _key_handover,
    "RECOVERY": _recovery,
}


def describe(record: Record) -> str:
    """What the record says, in one line a person reads without the schema (its type, for a
    type this table does not know)."""
    render = _DESCRIBE.get(record.type)
    return render(record.data) if render else record.type
