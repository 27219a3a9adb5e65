"""One line of plain language per record, and the units people read (millimetres, minutes).

Used by `penctl audit show`, the CSV export and the HTML report, so all three say the same thing.
"""

from __future__ import annotations

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


def describe(record: Record) -> str:
    """What the record says, in one line a person reads without the schema.

    Long on purpose: one case per record type (all 25), read as a table from top to bottom.
    """
    d = record.data
    match record.type:
        case "SESSION_OPEN":
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
        case "INTAKE":
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
        case "OVERRIDE":
            detail = f" ({d['detail']})" if d.get("detail") else ""
            return f"override: {_words(d['rule'])} set aside: {d['reason']}{detail}"
        case "PLAN":
            count = d["planned_sessions"]
            sessions = f"{count} session" + ("" if count == 1 else "s")
            return f"plan: {sessions}, {d['spacing_days']} days apart; explained: " + " ".join(
                d["expectations"]
            )
        case "CARTRIDGE":
            return (
                f"cartridge {d['serial']} lot {d['lot']} fitted: {d['needle_count']} needles, "
                f"{format_depth(d['needle_length_um'])} long, expires {d['expiry']}, "
                f"{_words(d['state'].lower())}"
            )
        case "ACTION_REFUSED":
            return f"{_words(d['action'])} refused: {d['reason']}"
        case "CHECKLIST":
            note = f" ({d['note']})" if d.get("note") else ""
            return f"checklist: {d['question']}: {d['answer'].replace('_', ' ')}{note}"
        case "CONSENT":
            given = "given" if d["given"] else "NOT given"
            witness = f", witnessed by {d['witness']}" if d.get("witness") else ""
            return (
                f"consent {given} ({d['method']}) on form {d['form_id']} "
                f"version {d['form_version']}{witness}"
            )
        case "NUMBING":
            removed = f", removed {d['removed_at']}" if d.get("removed_at") else ", not removed yet"
            return f"numbing: {d['agent']} applied {d['applied_at']}{removed}"
        case "PARAMS_REQUESTED":
            why = (
                f"; soft limit confirmed: {d['override_reason']}"
                if d.get("override_reason")
                else ""
            )
            return f"parameters v{d['param_version']} requested: {_params(d)}{why}"
        case "PARAMS_APPLIED":
            match_text = "" if d["matches_request"] else " — DOES NOT MATCH the request"
            return (
                f"parameters v{d['param_version']} confirmed by the pen: {_params(d)}{match_text}"
            )
        case "NEEDLE_START":
            return f"needle started: {_params(d)} (parameters v{d['param_version']})"
        case "NEEDLE_STOP":
            detail = f": {d['detail']}" if d.get("detail") else ""
            return f"needle stopped ({d['reason'].replace('_', ' ')}){detail}"
        case "AREA_PASS":
            return (
                f"pass {d['pass_number']} over {area_name(d['area'])} done in "
                f"{format_duration(d['duration_ms'] / 1000)} at {format_depth(d['depth_um'])}, "
                f"{format_speed(d['speed_sps'])}"
            )
        case "ALARM":
            frames = f" [{len(d['raw_frames'])} raw frames]" if d["raw_frames"] else ""
            return (
                f"{d['priority'].upper()} alarm {d['alarm_id']} ({d['condition']}): "
                f"{d['message']}{frames}"
            )
        case "FAULT":
            latched = "latched fault" if d["latched"] else "fault"
            frames = f" [{len(d['raw_frames'])} raw frames]" if d["raw_frames"] else ""
            return f"{latched} {d['fault_id']} ({d['cause']}): {d['message']}{frames}"
        case "OPERATOR_ACK":
            note = f": {d['note']}" if d.get("note") else ""
            return f"{d['subject']} {d['action']}{note}"
        case "STATE_CHANGE":
            return f"{d['machine']}: {d['from_state']} → {d['to_state']} ({d['trigger']})"
        case "AFTERCARE":
            return f"aftercare sheet {d['sheet_id']} v{d['sheet_version']} given ({d['method']})"
        case "FOLLOW_UP":
            note = f" ({d['note']})" if d.get("note") else ""
            return f"follow-up booked for {d['date']}{note}"
        case "PHOTO":
            area = f" of {area_name(d['area'])}" if d.get("area") else ""
            return f"{d['phase']} photo{area}: {d['path']} (sha256 {d['sha256'][:12]}…)"
        case "CORRECTION":
            return (
                f"correction of record {d['refers_to_seq']}: {d['field']} "
                f"{d['before']!r} → {d['after']!r} because {d['reason']}"
            )
        case "SESSION_CLOSE":
            return f"session closed: {d['outcome']} ({d['reason']})"
        case "CHECKPOINT":
            return (
                f"checkpoint: records up to {d['covers_seq']} signed with Ed25519 key {d['key_id']}"
            )
        case "KEY_HANDOVER":
            return (
                f"signing key handed over from {d['old_key_id']} to {d['new_key_id']} "
                f"(signed by {d['old_key_id']}): {d['reason']}"
            )
        case "RECOVERY":
            kept_bytes = sum(item["bytes"] for item in d["kept_aside"])
            kept = f"; {kept_bytes} bytes of an unfinished record kept aside" if kept_bytes else ""
            return f"recovered after a crash: last good record {d['last_good_seq']}{kept}"
    return record.type
