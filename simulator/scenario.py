"""Scenario files: TOML that configures the simulated pen and schedules faults (docs/simulator.md).

Parsing only: this module turns a file into checked, immutable values, or into one `ScenarioError`
whose message names the file, the line, the fault, the key, the value and the rule it broke.
Applying a scenario is the simulated pen's business (pen.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from firmware_bridge.protocol import HOST_COMMANDS
from simulator.config import DEFAULT_CARTRIDGE, CartridgeSpec, ConfigError, PenConfig
from simulator.events import EVENT_NAMES


class ScenarioError(ValueError):
    """A scenario cannot be used; the message says where, what and why."""


WIRE_ACTIONS = frozenset(
    {"drop", "corrupt", "duplicate", "delay", "split", "silent", "zero_byte", "cut", "pace"}
)
SENSORS = ("temperature", "battery")
DIRECTIONS = ("both", "to_pen", "to_host")
COMMAND_TRIGGERS = frozenset(c.name for c in HOST_COMMANDS)
EVENT_TRIGGERS = EVENT_NAMES
_MESSAGE_TYPES = ("ACK", "NAK", "EVENT", "TELEMETRY", "IDENTIFY", "CARTRIDGE", *COMMAND_TRIGGERS)


@dataclass(frozen=True, slots=True)
class Param:
    kind: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] = lambda _: None


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be above 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be 0 or more"


def _sensor(v: Any) -> str | None:
    return None if v in SENSORS else f"must be one of {', '.join(SENSORS)}"


def _ppm(v: Any) -> str | None:
    if v == 0 or not -100_000 <= v <= 100_000:
        return "must be between -100000 and 100000 (±10 %), and not 0"
    return None


def _baud(v: Any) -> str | None:
    return None if 300 <= v <= 4_000_000 else "must be between 300 and 4000000 bits/s"


def _absurd_time(key: str, value: Any) -> str | None:
    if key.endswith("_ms") and isinstance(value, int) and value > MAX_TIME_MS:
        return f"more than a week ({MAX_TIME_MS} ms); no session runs that long"
    return None


def _direction(v: Any) -> str | None:
    return None if v in DIRECTIONS else f"must be one of {', '.join(DIRECTIONS)}"


def _types(v: Any) -> str | None:
    if not v:
        return "name at least one message type, or leave types out for all of them"
    bad = [t for t in v if not isinstance(t, str) or t.upper() not in _MESSAGE_TYPES]
    return (
        f"unknown message types {bad}; known: {', '.join(sorted(_MESSAGE_TYPES))}" if bad else None
    )


_NUMBER = (int, float)
_WINDOW = {
    "direction": Param(str, "both", _direction),
    "rate": Param(_NUMBER, 1.0, _between(0, 1)),
    "for_ms": Param(int, None, _positive),
    "frames": Param(int, None, _positive),
    "types": Param(list, None, _types),
}
_CARTRIDGE_KEYS = {
    "serial": Param(str, None),
    "lot": Param(str, None),
    "needle_count": Param(int, None),
    "needle_length_um": Param(int, None),
    "expiry": Param((int, datetime.date), None),
    "used": Param(bool, None),
    "readable": Param(bool, None),
}

ACTIONS: dict[str, dict[str, Param]] = {
    "drop": _WINDOW,
    "corrupt": _WINDOW,
    "duplicate": _WINDOW,
    "delay": {**_WINDOW, "delay_ms": Param(int, 100, _positive)},
    "split": {
        **_WINDOW,
        "parts": Param(int, 2, _between(2, 8)),
        "gap_ms": Param(int, 5, _non_negative),
    },
    "silent": {"direction": _WINDOW["direction"], "for_ms": _WINDOW["for_ms"]},
    "unplug": {"for_ms": Param(int, None, _positive)},
    "reboot": {},
    "button": {},
    "stall": {"load": Param(_NUMBER, 1.0, _between(0.01, 1)), "for_ms": _WINDOW["for_ms"]},
    "overheat": {"to_c": Param(_NUMBER, 50.0, _between(-20, 150))},
    "drain_battery": {"to_pct": Param(_NUMBER, 4.0, _between(0, 100))},
    "charge_battery": {"to_pct": Param(_NUMBER, 100.0, _between(0, 100))},
    "pull_cartridge": {},
    "seat_cartridge": {"fresh": Param(bool, False), **_CARTRIDGE_KEYS},
    "zero_byte": _WINDOW,
    "cut": {
        "direction": Param(str, "to_host", _direction),
        "after_bytes": Param(int, 4, _positive),
        "for_ms": _WINDOW["for_ms"],
    },
    "pace": {"direction": _WINDOW["direction"], "baud": Param(int, 115_200, _baud)},
    "weak_battery": {
        "internal_mohm": Param(int, 1500, _between(0, 65535)),
        "for_ms": _WINDOW["for_ms"],
    },
    "stuck_sensor": {"sensor": Param(str, "temperature", _sensor), "for_ms": _WINDOW["for_ms"]},
    "depth_stuck": {"for_ms": _WINDOW["for_ms"]},
    "clock_drift": {"ppm": Param(int, 20_000, _ppm)},
    "internal_fault": {},
    "intermittent_cartridge": {
        "every_ms": Param(int, 300, _positive),
        "for_ms": Param(int, 1500, _positive),
    },
    "half_seated": {"for_ms": _WINDOW["for_ms"]},
    "depth_drift": {
        "rate_um_per_s": Param(_NUMBER, 300.0, _between(-100_000, 100_000)),
        "offset_um": Param(_NUMBER, 0.0, _between(-10_000, 10_000)),
        "for_ms": _WINDOW["for_ms"],
    },
}
_TRIGGER_KEYS = frozenset({"at_ms", "on", "nth", "after_ms"})
_COMMON_KEYS = frozenset({"action", "note"}) | _TRIGGER_KEYS


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a fault fires: `at_ms` after power-on, or `after_ms` after the `nth` `on`."""

    at_ms: int | None = None
    on: str | None = None
    nth: int = 1
    after_ms: int = 0

    def describe(self) -> str:
        if self.on is None:
            return f"at {self.at_ms} ms"
        nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(self.nth, f"{self.nth}th")
        return f"{self.after_ms} ms after the {nth} {self.on}"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    index: int  # 1-based, in file order
    action: str
    trigger: Trigger
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str = "default"
    description: str = ""
    seed: int | None = None
    pen: PenConfig = field(default_factory=PenConfig)
    cartridge: CartridgeSpec | None = DEFAULT_CARTRIDGE
    faults: tuple[FaultSpec, ...] = ()
    source: str = "<defaults>"
    warnings: tuple[str, ...] = ()  # where it will not behave as its author may expect


# ---- loading -----------------------------------------------------------------------------------


def bundled_names() -> list[str]:
    root = resources.files("simulator") / "scenarios"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def list_scenarios() -> list[tuple[str, str]]:
    """(name, description) of every bundled scenario."""
    return [(name, load_scenario(name).description) for name in bundled_names()]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario from a file path, or a bundled one by name (e.g. "flaky-link")."""
    path = Path(name_or_path)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read the scenario ({exc})") from None
        return parse_scenario(text, str(path), default_name=path.stem)
    name = str(name_or_path)
    if name in bundled_names():
        resource = resources.files("simulator") / "scenarios" / f"{name}.toml"
        return parse_scenario(resource.read_text(encoding="utf-8"), f"{name}.toml", name)
    raise ScenarioError(
        f"{name}: no such scenario file, and not a bundled scenario; give a path to a TOML file "
        f"or one of: {', '.join(bundled_names())}"
    )


def parse_scenario(text: str, source: str = "<scenario>", default_name: str = "") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{source}:{match.group(1)}:{match.group(2)}" if match else source
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ScenarioError(f"{where}: not valid TOML: {reason}") from None
    lines = _Lines(text, source)
    unknown = set(data) - {"name", "description", "seed", "pen", "cartridge", "fault"}
    if unknown:
        key = sorted(unknown)[0]
        raise ScenarioError(
            f"{lines.at(None, 0, key)}: unknown key {key!r}; a scenario has name, description, "
            "seed, [pen], [cartridge] and [[fault]] tables"
        )
    name = _typed(data, "name", str, default_name or "scenario", lines)
    description = _typed(data, "description", str, "", lines)
    seed = _typed(data, "seed", int, None, lines)
    pen = _pen(data.get("pen", {}), lines)
    cartridge = _initial_cartridge(data.get("cartridge", {}), lines)
    raw_faults = data.get("fault", [])
    if not isinstance(raw_faults, list):
        raise ScenarioError(f"{lines.at(None, 0, 'fault')}: write faults as [[fault]] tables")
    faults = tuple(_fault(i + 1, raw, lines) for i, raw in enumerate(raw_faults))
    _check_seed(seed, lines)
    _check_workable(pen, cartridge, lines)
    warnings = tuple(_warnings(pen, faults, lines))
    return Scenario(name, description, seed, pen, cartridge, faults, source, warnings)


def fault_spec(action: str, **params: Any) -> FaultSpec:
    """One fault, checked like a [[fault]] table, to apply at once (SimulatedPen.inject)."""
    return _fault(0, {"action": action, "at_ms": 0, **params}, _Lines("", "inject"))


# ---- sections ----------------------------------------------------------------------------------


def _typed(data: dict[str, Any], key: str, kind: type, default: Any, lines: _Lines) -> Any:
    if key not in data:
        return default
    value = data[key]
    if not _is(value, kind):
        raise ScenarioError(
            f"{lines.at(None, 0, key)}: {key} = {value!r}: must be {_kind_name(kind)}"
        )
    return value


def _pen(table: Any, lines: _Lines) -> PenConfig:
    if not isinstance(table, dict):
        raise ScenarioError(f"{lines.at(None, 0, 'pen')}: pen must be a table ([pen])")
    defaults = PenConfig()
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = lines.at("pen", 0, key)
        if key == "today":
            values["today_yyyymmdd"] = _yyyymmdd(value, f"{where}: [pen] today")
            continue
        if key == "firmware_version":
            values[key] = _firmware_version(value, where)
            continue
        if key == "defects":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ScenarioError(f"{where}: [pen] defects = {value!r}: must be a list of names")
            values[key] = frozenset(value)
            continue
        if key == "today_yyyymmdd" or key not in {f.name for f in dataclasses.fields(PenConfig)}:
            known = sorted({f.name for f in dataclasses.fields(PenConfig)} - {"today_yyyymmdd"})
            raise ScenarioError(
                f"{where}: [pen] has no key {key!r}; known keys: {', '.join([*known, 'today'])}"
            )
        expected = type(getattr(defaults, key))
        kind: type | tuple[type, ...] = _NUMBER if expected is float else expected
        if not _is(value, kind):
            raise ScenarioError(f"{where}: [pen] {key} = {value!r}: must be {_kind_name(kind)}")
        values[key] = float(value) if expected is float else value
    try:
        return PenConfig(**values)
    except ConfigError as exc:
        raise ScenarioError(f"{_key_line(lines, 'pen', 0, str(exc))}: [pen] {exc}") from None


def _initial_cartridge(table: Any, lines: _Lines) -> CartridgeSpec | None:
    if table is False:
        return None
    if not isinstance(table, dict):
        raise ScenarioError(
            f"{lines.at(None, 0, 'cartridge')}: cartridge must be a table, or false for none"
        )
    values = dict(table)
    seated = values.pop("seated", True)
    if not isinstance(seated, bool):
        raise ScenarioError(
            f"{lines.at('cartridge', 0, 'seated')}: [cartridge] seated = {seated!r}: must be true "
            "or false"
        )
    if not seated:
        return None
    return _cartridge_spec(values, DEFAULT_CARTRIDGE, lines, "cartridge", 0, "[cartridge]")


def _cartridge_spec(
    values: dict[str, Any], base: CartridgeSpec, lines: _Lines, section: str, index: int, label: str
) -> CartridgeSpec:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        where = lines.at(section, index, key)
        if key not in _CARTRIDGE_KEYS:
            raise ScenarioError(
                f"{where}: {label} has no key {key!r}; known keys: {', '.join(_CARTRIDGE_KEYS)}"
            )
        if key == "expiry":
            changes["expiry_yyyymmdd"] = _yyyymmdd(value, f"{where}: {label} expiry")
            continue
        kind = _CARTRIDGE_KEYS[key].kind
        if not _is(value, kind):
            raise ScenarioError(f"{where}: {label} {key} = {value!r}: must be {_kind_name(kind)}")
        changes[key] = value
    try:
        return base.replace(**changes)
    except ConfigError as exc:
        where = _key_line(lines, section, index, str(exc))
        raise ScenarioError(f"{where}: {label} {exc}") from None


def _fault(index: int, raw: Any, lines: _Lines) -> FaultSpec:
    label = f"fault #{index}"
    header = lines.section_line("fault", index)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{header}: {label} must be a table ([[fault]])")
    action = raw.get("action")
    if action is None:
        raise ScenarioError(
            f"{header}: {label} has no action; give action = one of {', '.join(sorted(ACTIONS))}"
        )
    if not isinstance(action, str) or action not in ACTIONS:
        raise ScenarioError(
            f"{lines.at('fault', index, 'action')}: {label}: action = {action!r} is not one of "
            f"{', '.join(sorted(ACTIONS))}"
        )
    label = f"fault #{index} ({action})"
    trigger = _trigger(raw, lines, index, label, header)
    schema = ACTIONS[action]
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _COMMON_KEYS:
            continue
        where = lines.at("fault", index, key)
        spec = schema.get(key)
        if spec is None:
            known = ", ".join(sorted(schema)) or "no parameters"
            raise ScenarioError(f"{where}: {label}: unknown key {key!r}; {action} takes {known}")
        if not _is(value, spec.kind):
            raise ScenarioError(
                f"{where}: {label}: {key} = {value!r}: must be {_kind_name(spec.kind)}"
            )
        problem = spec.check(value) or _absurd_time(key, value)
        if problem:
            raise ScenarioError(f"{where}: {label}: {key} = {value!r}: {problem}")
        params[key] = value
    for key, spec in schema.items():
        params.setdefault(key, spec.default)
    if action == "seat_cartridge":
        given = {k: v for k, v in params.items() if k in _CARTRIDGE_KEYS and v is not None}
        params = {"fresh": params["fresh"], "changes": given}
        _cartridge_spec(given, DEFAULT_CARTRIDGE, lines, "fault", index, label)
    if params.get("types"):
        params["types"] = [t.upper() for t in params["types"]]
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise ScenarioError(f"{lines.at('fault', index, 'note')}: {label}: note must be text")
    return FaultSpec(index, action, trigger, params, header_line(header), note)


def _trigger(raw: dict[str, Any], lines: _Lines, index: int, label: str, header: str) -> Trigger:
    for key in ("at_ms", "nth", "after_ms"):
        if key in raw and (not _is(raw[key], int) or raw[key] < 0):
            raise ScenarioError(
                f"{lines.at('fault', index, key)}: {label}: {key} = {raw[key]!r}: must be a "
                "whole number, 0 or more"
            )
        problem = _absurd_time(key, raw[key]) if key in raw else None
        if problem:
            raise ScenarioError(
                f"{lines.at('fault', index, key)}: {label}: {key} = {raw[key]!r}: {problem}"
            )
    has_at, has_on = "at_ms" in raw, "on" in raw
    if has_at == has_on:
        raise ScenarioError(
            f"{header}: {label}: give exactly one of at_ms (time after power-on) or on (a host "
            "command such as START, or a firmware event such as motor_started)"
        )
    if has_at:
        for key in ("nth", "after_ms"):
            if key in raw:
                raise ScenarioError(
                    f"{lines.at('fault', index, key)}: {label}: {key} goes with on, not at_ms"
                )
        return Trigger(at_ms=raw["at_ms"])
    on = raw["on"]
    if not isinstance(on, str) or (on not in COMMAND_TRIGGERS and on not in EVENT_TRIGGERS):
        raise ScenarioError(
            f"{lines.at('fault', index, 'on')}: {label}: on = {on!r} is neither a host command "
            f"({', '.join(sorted(COMMAND_TRIGGERS))}) nor a firmware event "
            f"({', '.join(sorted(EVENT_TRIGGERS))})"
        )
    nth = raw.get("nth", 1)
    if nth < 1:
        raise ScenarioError(f"{lines.at('fault', index, 'nth')}: {label}: nth = 0: counts from 1")
    return Trigger(on=on, nth=nth, after_ms=raw.get("after_ms", 0))


# ---- scenarios that cannot work ----------------------------------------------------------------

MAX_SEED = 2**64 - 1
MAX_TIME_MS = 7 * 24 * 3_600_000  # a week: no bench session runs longer


def _check_seed(seed: int | None, lines: _Lines) -> None:
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ScenarioError(
            f"{lines.at(None, 0, 'seed')}: seed = {seed}: must be between 0 and 2**64 - 1"
        )


def _check_workable(pen: PenConfig, cartridge: CartridgeSpec | None, lines: _Lines) -> None:
    """Values each fine alone that together make a pen that cannot work: refused, naming the key
    the file sets (of the two, the one it wrote)."""
    if pen.tick_ms > pen.telemetry_period_ms:
        where = _pen_line(lines, "tick_ms", "telemetry_period_ms")
        raise ScenarioError(
            f"{where}: [pen] tick_ms = {pen.tick_ms} is longer than telemetry_period_ms = "
            f"{pen.telemetry_period_ms}: telemetry would report the same physics twice; make the "
            "control tick at most the telemetry period"
        )
    if pen.over_temp_c <= pen.ambient_c:
        where = _pen_line(lines, "over_temp_c", "ambient_c")
        raise ScenarioError(
            f"{where}: [pen] over_temp_c = {pen.over_temp_c:g} is not above ambient_c = "
            f"{pen.ambient_c:g}: the pen would latch OVER_TEMPERATURE at power-on and never clear"
        )
    if pen.battery_start_pct <= pen.battery_critical_pct:
        where = _pen_line(lines, "battery_start_pct", "battery_critical_pct")
        raise ScenarioError(
            f"{where}: [pen] battery_start_pct = {pen.battery_start_pct:g} is not above "
            f"battery_critical_pct = {pen.battery_critical_pct:g}: the pen would latch "
            "BATTERY_CRITICAL at power-on; to stage a flat battery, use a drain_battery fault"
        )
    if cartridge is not None and cartridge.needle_length_um < pen.depth_min_um:
        where = lines.at("cartridge", 0, "needle_length_um")
        if where == lines.source:
            where = _pen_line(lines, "depth_min_um")
        raise ScenarioError(
            f"{where}: [cartridge] needle_length_um = {cartridge.needle_length_um} is shorter "
            f"than the pen's depth_min_um = {pen.depth_min_um}: no depth could be set"
        )


def _warnings(pen: PenConfig, faults: tuple[FaultSpec, ...], lines: _Lines) -> list[str]:
    """What will run but cannot keep a session alive (said, not refused: it may be the test)."""
    found = []
    for fault in faults:
        delay = fault.params.get("delay_ms") if fault.action == "delay" else None
        if delay is not None and delay >= pen.lease_max_ms:
            found.append(
                f"{lines.at('fault', fault.index, 'delay_ms')}: fault #{fault.index} (delay): "
                f"delay_ms = {delay} is not shorter than the longest lease ({pen.lease_max_ms} "
                "ms): while it lasts, no renewal arrives in time and the pen stops on its lease"
            )
    return found


def _pen_line(lines: _Lines, *keys: str) -> str:
    """The line of the first of `keys` the [pen] table sets, else the table's, else the file."""
    for key in keys:
        where = lines.at("pen", 0, key)
        if where != lines.section_line("pen") and where != lines.source:
            return where
    return lines.section_line("pen")


def _key_line(lines: _Lines, section: str, index: int, message: str) -> str:
    """The line of the key a ConfigError message starts with (`name = value: ...`)."""
    match = re.match(r"([a-z_]+) = ", message)
    if match is None:
        return lines.section_line(section, index)
    key = {"expiry_yyyymmdd": "expiry"}.get(match.group(1), match.group(1))
    return lines.at(section, index, key)


# ---- helpers -----------------------------------------------------------------------------------


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
        return False
    if isinstance(value, datetime.datetime) and datetime.datetime not in _as_tuple(kind):
        return False
    return isinstance(value, kind)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        int: "a whole number",
        float: "a number",
        str: "text in quotes",
        bool: "true or false",
        list: "a list",
        datetime.date: "a date (2028-12-31)",
    }
    parts = [names.get(k, k.__name__) for k in _as_tuple(kind)]
    if parts == ["a whole number", "a number"]:
        return "a number"
    return " or ".join(parts)


def _yyyymmdd(value: Any, where: str) -> int:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.year * 10000 + value.month * 100 + value.day
    if _is(value, int):
        try:
            datetime.date(value // 10000, value // 100 % 100, value % 100)
        except ValueError:
            pass
        else:
            return value
    raise ScenarioError(f"{where} = {value!r}: must be a date, written 2028-12-31")


def _firmware_version(value: Any, where: str) -> tuple[int, int, int]:
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", value):
        parts = tuple(int(p) for p in value.split("."))
        if all(p <= 255 for p in parts):
            return parts  # type: ignore[return-value]
    raise ScenarioError(
        f'{where}: [pen] firmware_version = {value!r}: must be text like "1.0.0" (parts 0..255)'
    )


def header_line(where: str) -> int | None:
    match = re.search(r":(\d+)$", where)
    return int(match.group(1)) if match else None


class _Lines:
    """Finds the line of a key in a section, so errors can say file:line (tomllib does not)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self._sections: dict[tuple[str | None, int], tuple[int, list[str]]] = {(None, 0): (0, [])}
        counts: dict[str, int] = {}
        current: tuple[str | None, int] = (None, 0)
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                name = header.group(2)
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    current = (name, counts[name])
                else:
                    current = (name, 0)
                self._sections[current] = (number, [])
                continue
            self._sections.setdefault(current, (0, []))[1].append(f"{number}\x00{line}")

    def at(self, section: str | None, index: int, key: str) -> str:
        start, body = self._sections.get((section, index), (0, []))
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for entry in body:
            number, line = entry.split("\x00", 1)
            if pattern.match(line):
                return f"{self.source}:{number}"
        return f"{self.source}:{start}" if start else self.source

    def section_line(self, section: str, index: int = 0) -> str:
        start, _ = self._sections.get((section, index), (0, []))
        return f"{self.source}:{start}" if start else self.source
