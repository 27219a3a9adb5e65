"""The console's display widgets: each draws one part of a controller snapshot and holds nothing.

`show(snapshot)` is called 10-20 times a second by the app; a widget compares what it would draw
with what it drew and skips the repaint when nothing changed, so a slow terminal costs little.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Label, Static

from controller.machines import Device
from controller.snapshot import BoundView, ParamsView, Snapshot

MARKERS = {"high": "***", "medium": "**", "low": "*"}
BARS = "▁▂▃▄▅▆▇█"


def mm(micrometres: int) -> str:
    return f"{micrometres / 1000:.2f}"


class Cached(Static):
    """A Static that repaints only when its text changes, and has the screen laid out again only
    when its height may change: a layout pass reflows every widget on the screen, and the
    telemetry line changes at every redraw (measured: most of the console's CPU)."""

    _painted: str | None = None

    def paint(self, content: Text | str) -> None:
        key = content.plain if isinstance(content, Text) else content
        if self._painted == key:
            return
        old, self._painted = self._painted, key
        width = self.content_size.width
        height = _height(key, width)
        self.update(content, layout=height is None or old is None or _height(old, width) != height)


def _height(text: str, width: int) -> int | None:
    """The lines `text` takes at `width` cells when none wraps; None when that is not certain."""
    lines = text.split("\n")
    if not text or text.endswith("\n") or any(cell_len(line) > width for line in lines):
        return None
    return len(lines)


class Spark(Cached):
    """The newest samples as one line of bars, one sample a cell, lowest to highest of those shown.

    Text in one colour: Textual's Sparkline blends a colour for every cell and cost as much as
    the rest of the treatment screen together, 15 times a second."""

    def show(self, samples: Sequence[int]) -> None:
        self.paint(bars(samples[-max(1, self.content_size.width) :]))


def bars(samples: Sequence[int]) -> str:
    if not samples:
        return ""
    low = min(samples)
    extent = max(samples) - low or 1
    top = len(BARS) - 1
    return "".join(BARS[(sample - low) * top // extent] for sample in samples)


class AlarmBanner(Cached):
    """Active alarms, most urgent first: priority by colour, marker and order (IEC 60601-1-8)."""

    def show(self, snap: Snapshot) -> None:
        self.display = bool(snap.alarms)
        text = Text()
        for alarm in snap.alarms:
            style = {"high": "bold white on red", "medium": "bold black on yellow"}.get(
                alarm.priority, "black on cyan"
            )
            latch = " (latched: acknowledge with F2)" if alarm.latched else ""
            text.append(f" {MARKERS[alarm.priority]} {alarm.alarm_id}{latch} ", style=style)
            text.append(f" {alarm.what} {alarm.did} {alarm.next}\n")
        self.set_class(any(a.priority == "high" for a in snap.alarms), "high")
        self.paint(text)


class DeviceBar(Cached):
    """The pen: model, serial, firmware, cartridge, battery, link quality; the state, big."""

    def show(self, snap: Snapshot) -> None:
        pen = snap.pen
        text = Text()
        state = snap.device.value.upper().replace("_", " ")
        style = (
            "bold white on red"
            if snap.device in (Device.FAULT, Device.ESTOP, Device.LINK_LOST)
            else "bold"
        )
        if snap.device is Device.RUNNING:
            style = "bold black on green"
        text.append(f" {state} ", style=style)
        text.append(f"  step: {snap.step.value}  ")
        if pen is None:
            text.append("pen: not identified")
        else:
            cart = pen.cartridge_serial or "none"
            needle = "" if pen.needle_length_um is None else f" {mm(pen.needle_length_um)} mm"
            text.append(
                f"pen {pen.model} {pen.serial} fw {pen.firmware} · cartridge {cart}"
                f"{needle} {(pen.cartridge_state or '').lower()} exp {pen.expiry or '-'}"
            )
        tele = snap.telemetry
        if tele is not None:
            text.append(f" · battery {tele.battery_pct}%")
        if snap.link_quality:
            text.append(f" · link {snap.link}{link_troubles(snap.link_quality)}")
        self.paint(text)


def link_troubles(quality: dict[str, int]) -> str:
    """Only the counts that are not zero, so the bar stays one line on a healthy link."""
    counts = (
        (quality["bad_frames"], "bad frame", "bad frames"),
        (quality["retransmits"], "retry", "retries"),
        (quality["telemetry_gaps"], "telemetry gap", "telemetry gaps"),
    )
    said = [f"{n} {one if n == 1 else many}" for n, one, many in counts if n]
    return f": {', '.join(said)}" if said else ""


class Setting(Vertical):
    """One setting (depth or speed) as the pen confirmed it, large, with its range and layers."""

    def __init__(self, title: str, unit: str, *, id: str) -> None:
        super().__init__(id=id)
        self._title = title
        self._unit = unit

    def compose(self) -> ComposeResult:
        yield Label(f"{self._title} ({self._unit}) as the pen confirmed it", classes="title")
        yield Digits("--", classes="confirmed")
        yield Cached("", classes="requested")
        yield Cached("", classes="range")

    def show(
        self,
        confirmed: str | None,
        requested: str | None,
        low: BoundView | None,
        high: BoundView | None,
        soft: BoundView | None,
        depth: bool,
    ) -> None:
        digits = self.query_one(Digits)
        value = confirmed or "--"
        if digits.value != value:
            digits.update(value)
        pending = requested is not None and requested != confirmed
        self.query_one(".requested", Cached).paint(
            Text(f"requested {requested}, not yet confirmed by the pen", style="bold yellow")
            if pending
            else ""
        )
        if low is None or high is None:
            self.query_one(".range", Cached).paint("")
            return
        show = mm if depth else str
        lines = (
            f"range {show(low.value)}–{show(high.value)}: min by {low.layer}, "
            f"max by {high.layer} ({high.sentence})"
        )
        if soft is not None:
            lines += f"\nconfirm with a reason above {show(soft.value)} ({soft.layer})"
        self.query_one(".range", Cached).paint(lines)


class TreatmentView(Vertical):
    """The treatment screen: areas, confirmed settings, time and passes, live telemetry."""

    def compose(self) -> ComposeResult:
        yield Cached("", id="areas")
        with Horizontal(id="settings"):
            yield Setting("Depth", "mm", id="depth")
            yield Setting("Speed", "strokes/s", id="speed")
        yield Cached("", id="progress")
        yield Cached("", id="telemetry")
        with Horizontal(id="sparks"):
            yield Spark("", id="depth-spark")
            yield Spark("", id="speed-spark")

    def show(self, snap: Snapshot) -> None:
        self.query_one("#areas", Cached).paint(_areas(snap))
        limits = snap.limits
        confirmed, proposed = snap.confirmed, snap.proposed
        self.query_one("#depth", Setting).show(
            _depth(confirmed),
            _depth(proposed),
            None if limits is None else limits.depth_min,
            None if limits is None else limits.depth_max,
            None if limits is None else limits.depth_soft_max,
            True,
        )
        self.query_one("#speed", Setting).show(
            _speed(confirmed),
            _speed(proposed),
            None if limits is None else limits.speed_min,
            None if limits is None else limits.speed_max,
            None,
            False,
        )
        self.query_one("#progress", Cached).paint(_progress(snap))
        tele = snap.telemetry
        if tele is None:
            return
        self.query_one("#telemetry", Cached).paint(
            f"measured {mm(tele.depth_um)} mm · {tele.speed_sps}/s · {tele.current_ma} mA · "
            f"{tele.temperature_cdeg / 100:.1f} °C · battery {tele.battery_pct}% · motor "
            f"{tele.motor.lower().replace('_', ' ')} · lease {tele.lease_remaining_ms} ms"
        )
        self.query_one("#depth-spark", Spark).show(tele.depth_history_um)
        self.query_one("#speed-spark", Spark).show(tele.speed_history_sps)


def _depth(params: ParamsView | None) -> str | None:
    return None if params is None else mm(params.depth_um)


def _speed(params: ParamsView | None) -> str | None:
    return None if params is None else str(params.speed_sps)


def _areas(snap: Snapshot) -> Text:
    text = Text("Areas: ")
    for area in snap.areas:
        if area.area == snap.area:
            text.append(f"[{area.area}] ", style="bold reverse")
        elif area.done:
            text.append(f"{area.area} ✓ ", style="dim")
        else:
            text.append(f"{area.area} ")
    return text


def _progress(snap: Snapshot) -> Text:
    current = next((a for a in snap.areas if a.area == snap.area), None)
    if current is None:
        return Text("Choose an area: press N for the next one.")
    running = snap.device is Device.RUNNING
    state = (
        Text(" RUNNING ", style="bold black on green")
        if running
        else Text(" NEEDLE STOPPED ", style="bold white on blue")
    )
    state.append(
        f"  {current.area}: {current.passes} of {current.max_passes} passes done, "
        f"{current.time_ms // 1000} s of {current.max_time_ms // 1000} s",
        style="",
    )
    return state
