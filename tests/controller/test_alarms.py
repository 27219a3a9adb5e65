"""The alarm catalogue: every alarm says what happened, what was done and what next (S10), has a
Table 1 derivation its priority agrees with (IEC 60601-1-8), and docs/alarms.md is its copy."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from controller.alarms import (
    CATALOGUE,
    FAULT_ALARMS,
    FIELDS,
    AlarmFieldError,
    AlarmSpec,
    Priority,
    RenderedAlarm,
    render_markdown,
)
from firmware_bridge.protocol import FaultCode

ROOT = Path(__file__).resolve().parents[2]

# IEC 60601-1-8 Table 1 (safety.md §2.3), written out here independently of the module's copy.
# The minor × delayed cell allows low, an information signal or none; an alarm there is low.
H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
TABLE_1 = {
    "death/irreversible": {"immediate": H, "prompt": H, "delayed": M},
    "reversible": {"immediate": H, "prompt": M, "delayed": L},
    "minor": {"immediate": M, "prompt": L, "delayed": L},
}
URGENCY = {H: 3, M: 2, L: 1}

# The alarms the brief asks for, with the priority or latching it fixes (None: ours to derive).
REQUIRED: dict[str, tuple[set[Priority] | None, bool | None]] = {
    "LINK_LOST": ({H}, True),
    "PEN_REBOOTED": (None, None),
    "ECHO_MISMATCH": (None, None),
    "DEPTH_DEVIATION": (None, None),
    "SPEED_DEVIATION": (None, None),
    "OVER_CURRENT": (None, None),
    "MOTOR_STALL": (None, None),
    "OVER_TEMPERATURE": (None, None),
    "TEMPERATURE_HIGH": (None, False),
    "BATTERY_LOW": (None, False),
    "BATTERY_CRITICAL": (None, None),
    "DEPTH_SENSOR_DISAGREE": (None, None),
    "LEASE_EXPIRED": (None, None),
    "CARTRIDGE_REMOVED": (None, None),
    "CARTRIDGE_REFUSED": (None, None),
    "PEN_INTERNAL": (None, None),
    "ESTOP_ENGAGED": (None, True),
    "JOURNAL_FAULT": ({H}, True),
    "TELEMETRY_GAPS": ({L, M}, False),
    "AREA_TIME_NEAR": ({L}, False),
    "AREA_TIME_LIMIT": ({M}, None),
    "BUTTON_STOP": ({L}, False),
}

SPECS = list(CATALOGUE.values())
IDS = [spec.alarm_id for spec in SPECS]
SENTENCES = ("what", "did", "next")


def _examples(spec: AlarmSpec) -> dict[str, str]:
    return {name: FIELDS[name].example for name in spec.fields}


def _class(text: str) -> str:
    return text.split(":", 1)[0]


def test_the_catalogue_holds_every_required_alarm_as_asked() -> None:
    for alarm_id, (priorities, latches) in REQUIRED.items():
        assert alarm_id in CATALOGUE, f"{alarm_id} is missing"
        spec = CATALOGUE[alarm_id]
        if priorities is not None:
            assert spec.priority in priorities, alarm_id
        if latches is not None:
            assert spec.latches is latches, alarm_id


def test_ids_are_upper_snake_and_keys() -> None:
    for alarm_id, spec in CATALOGUE.items():
        assert spec.alarm_id == alarm_id
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", alarm_id)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_message_says_what_happened_what_was_done_and_what_next(spec: AlarmSpec) -> None:
    """S10: three sentences, each a sentence in words, never a bare code."""
    rendered = spec.render(**_examples(spec))
    for name in SENTENCES:
        text = getattr(rendered, name)
        assert text.strip() == text and text, f"{spec.alarm_id}.{name} is empty or padded"
        assert text.endswith("."), f"{spec.alarm_id}.{name} does not end with a period: {text!r}"
        assert "{" not in text and "}" not in text, f"{spec.alarm_id}.{name}: {text!r}"
        assert len(re.findall(r"[A-Za-z]{2,}", text)) >= 4, f"{spec.alarm_id}.{name}: {text!r}"
        # No code a practitioner would have to look up: no UPPER_SNAKE names, no hex, no ids.
        assert not re.search(r"\b[A-Z0-9]+_[A-Z0-9_]+\b", text), f"{spec.alarm_id}.{name}: {text}"
        assert not re.search(r"\b0x[0-9A-Fa-f]+\b", text), f"{spec.alarm_id}.{name}: {text}"
        assert spec.alarm_id not in text
        assert len(text) <= 140, f"{spec.alarm_id}.{name} is long ({len(text)}): {text}"
    assert rendered.did != rendered.what and rendered.next not in (rendered.what, rendered.did)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_what_the_system_did_names_the_needle(spec: AlarmSpec) -> None:
    """S10: "what the system did" says what became of the needle, stopped or running on."""
    did = spec.did.lower()
    if spec.stops_needle:
        assert "needle" in did or "motor" in did, spec.alarm_id
        assert any(word in did for word in ("stop", "braked", "paused", "will not")), spec.did
    else:
        assert did.startswith("treatment continues"), spec.did


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_latching_alarm_says_how_it_is_cleared(spec: AlarmSpec) -> None:
    if spec.latches:
        assert "acknowledge" in spec.next.lower() or "service" in spec.next.lower(), spec.next


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_starting_again_after_a_latched_alarm_means_confirming_the_settings(
    spec: AlarmSpec,
) -> None:
    """S6: resuming needs the parameters confirmed again; the message says so."""
    if spec.latches and re.search(r"\bstart\b", spec.next.lower()):
        assert "confirm" in spec.next.lower(), spec.next


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_no_message_promises_that_the_needle_starts_by_itself(spec: AlarmSpec) -> None:
    """S5, S6: acknowledging never restarts; nothing resumes by itself."""
    text = " ".join(getattr(spec, name) for name in SENTENCES).lower()
    for phrase in ("resumes automatically", "restarts automatically", "will resume", "press p"):
        assert phrase not in text, spec.alarm_id


def test_every_high_priority_alarm_stops_the_needle_and_latches() -> None:
    high = [spec for spec in SPECS if spec.priority is Priority.HIGH]
    assert high
    for spec in high:
        assert spec.stops_needle and spec.latches, spec.alarm_id


def test_technical_alarms_are_high_latching_and_force_the_safe_state() -> None:
    """safety.md §2.3: link loss, log-store failure and an inconsistent state."""
    for alarm_id in ("LINK_LOST", "JOURNAL_FAULT", "PEN_REBOOTED", "ECHO_MISMATCH"):
        spec = CATALOGUE[alarm_id]
        assert (spec.priority, spec.latches, spec.stops_needle) == (H, True, True), alarm_id


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_priority_follows_the_stated_table_1_derivation(spec: AlarmSpec) -> None:
    result, onset = _class(spec.result), _class(spec.onset)
    assert result in TABLE_1, f"{spec.alarm_id}: result {spec.result!r}"
    assert onset in TABLE_1[result], f"{spec.alarm_id}: onset {spec.onset!r}"
    assert len(spec.result) > len(result) + 10, "the result says why"
    assert len(spec.onset) > len(onset) + 10, "the onset names the mitigation assumed"
    cell = TABLE_1[result][onset]
    if spec.escalation:
        assert URGENCY[spec.priority] > URGENCY[cell], (
            f"{spec.alarm_id}: an escalation, but the priority is Table 1's own"
        )
    else:
        assert spec.priority is cell, (
            f"{spec.alarm_id}: {result} × {onset} gives {cell}, not {spec.priority}"
        )
    assert spec.table_1_priority is cell


def test_only_the_journal_fault_is_raised_above_table_1() -> None:
    assert [spec.alarm_id for spec in SPECS if spec.escalation] == ["JOURNAL_FAULT"]


def test_a_derivation_that_disagrees_with_table_1_is_refused_at_import() -> None:
    spec = CATALOGUE["BATTERY_LOW"]  # minor × delayed: low
    with pytest.raises(ValueError, match="above Table 1"):
        dataclasses.replace(spec, priority=Priority.MEDIUM)
    with pytest.raises(ValueError, match="below Table 1"):
        dataclasses.replace(CATALOGUE["LINK_LOST"], priority=Priority.MEDIUM)
    with pytest.raises(ValueError, match="result must read"):
        dataclasses.replace(spec, result="serious: a made-up class")
    with pytest.raises(ValueError, match="onset must read"):
        dataclasses.replace(spec, onset="prompt")
    with pytest.raises(ValueError, match="UPPER_SNAKE"):
        dataclasses.replace(spec, alarm_id="battery-low")
    with pytest.raises(ValueError, match="FIELDS lacks"):
        dataclasses.replace(spec, what="The battery is at {charge}.")
    with pytest.raises(ValueError, match="plain names"):
        dataclasses.replace(spec, what="The battery is at {battery_pct:.1f} %.")


def test_priorities_sort_most_urgent_first_and_carry_their_markers() -> None:
    assert sorted([L, H, M, L, H]) == [H, H, M, L, L]
    assert H < M < L and L > M > H and H <= H and L >= L
    assert [p.marker for p in sorted(Priority)] == ["***", "**", "*"]
    assert [str(p) for p in Priority] == ["high", "medium", "low"]


def test_fault_alarms_cover_every_pen_fault_but_none() -> None:
    assert set(FAULT_ALARMS) == set(FaultCode) - {FaultCode.NONE}
    for code, alarm_id in FAULT_ALARMS.items():
        assert alarm_id in CATALOGUE, f"{code.name} -> {alarm_id}"
    # A latched pen fault (protocol.md §7 item 5) is a latched, needle-stopping alarm (S6).
    for alarm_id in FAULT_ALARMS.values():
        assert CATALOGUE[alarm_id].latches and CATALOGUE[alarm_id].stops_needle, alarm_id


def test_render_fills_every_field() -> None:
    rendered = CATALOGUE["DEPTH_DEVIATION"].render(
        measured_mm="1.72", applied_mm="1.50", tolerance_mm="0.15", readings=3
    )
    assert isinstance(rendered, RenderedAlarm)
    assert rendered.what == (
        "Measured depth 1.72 mm is more than 0.15 mm off the set 1.50 mm for 3 readings."
    )
    assert (rendered.alarm_id, rendered.priority) == ("DEPTH_DEVIATION", H)
    assert rendered.latches and rendered.stops_needle
    assert rendered.text.startswith("*** Measured depth 1.72 mm")
    assert str(rendered) == rendered.text
    link = CATALOGUE["LINK_LOST"].render(cause="no data for 150 ms", lease_ms=300)
    assert link.what == "The link to the pen is lost: no data for 150 ms."
    assert "300 ms" in link.did


def test_render_refuses_a_missing_field_naming_it() -> None:
    with pytest.raises(AlarmFieldError) as info:
        CATALOGUE["DEPTH_DEVIATION"].render(measured_mm="1.72", applied_mm="1.50", readings=3)
    message = str(info.value)
    assert "DEPTH_DEVIATION" in message and "missing 'tolerance_mm'" in message
    assert info.value.missing == ["tolerance_mm"]
    with pytest.raises(AlarmFieldError, match="missing 'cause', 'lease_ms'"):
        CATALOGUE["LINK_LOST"].render()


def test_render_refuses_unknown_and_blank_fields() -> None:
    with pytest.raises(AlarmFieldError, match=r"unknown 'depth' \(it takes: no fields"):
        CATALOGUE["BUTTON_STOP"].render(depth="1.0")
    with pytest.raises(AlarmFieldError, match=r"error \(blank\)"):
        CATALOGUE["JOURNAL_FAULT"].render(error="  ")


def test_a_field_value_is_inserted_as_text_not_as_a_template() -> None:
    rendered = CATALOGUE["JOURNAL_FAULT"].render(error="{cause} {0}")
    assert rendered.what == "The session journal cannot be written: {cause} {0}."


def test_every_field_is_documented_and_every_documented_field_is_used() -> None:
    used = {name for spec in SPECS for name in spec.fields}
    assert used == set(FIELDS)
    for name, doc in FIELDS.items():
        assert doc.meaning and doc.example, name


def test_the_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["X"] = CATALOGUE["LINK_LOST"]  # type: ignore[index]
    with pytest.raises(TypeError):
        FAULT_ALARMS[FaultCode.NONE] = "X"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE["LINK_LOST"].latches = False  # type: ignore[misc]


def _generated(name: str) -> str:
    text = (ROOT / "docs" / "alarms.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- generated:{name} -->\n(.*?)\n<!-- /generated:{name} -->", text, re.S)
    assert match, f"docs/alarms.md has no generated:{name} block"
    return match.group(1)


def test_the_catalogue_in_the_docs_is_the_one_in_the_code() -> None:
    assert _generated("alarms") == render_markdown()


def test_the_markdown_has_one_row_per_alarm_most_urgent_first() -> None:
    rows = [line for line in render_markdown().splitlines() if line.startswith("| `")]
    ids = [row.split("`")[1] for row in rows if row.split("`")[1] in CATALOGUE]
    assert sorted(ids) == sorted(CATALOGUE)
    urgencies = [URGENCY[CATALOGUE[alarm_id].priority] for alarm_id in ids]
    assert urgencies == sorted(urgencies, reverse=True)
    assert f"{len(CATALOGUE)} alarms:" in render_markdown()


def test_python_m_controller_alarms_prints_the_generated_markdown() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "controller.alarms"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout == render_markdown() + "\n"
