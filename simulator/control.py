"""Live control of a running `penctl sim`: a local socket speaking JSON lines (docs/simulator.md).

`penctl sim --control PATH` opens a Unix socket at PATH; each request is one JSON object on one
line, `{"action": "button"}`, and gets one JSON line back, `{"ok": true, ...}` or `{"ok": false,
"error": "..."}`. The actions are the hands of `SimulatedPen` (press the button, pull or seat a
cartridge, raise or clear a fault's cause, set the battery or the temperature, cut or restore the
link, reboot) and any scenario action (`inject`), applied at once while the pen runs. The server
runs in the simulator's select loop (server.py), so an action happens between two of the pen's
wake-ups, exactly as a scenario fault would.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.pen import SimulatedPen
from simulator.scenario import ScenarioError

MAX_LINE = 4096  # a request longer than this is refused, and the connection closed


class ControlError(OSError):
    """The control socket could not be opened; the message says which path and why."""


class RequestError(ValueError):
    """A request names no known action or bad parameters; the message says what to send."""


# What `raise` and `clear` mean for each cause: the scenario action (with its parameters) that
# raises it, and the one that takes it away.
CAUSES: dict[str, tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]] | None]] = {
    "jam": (("stall", {"load": 1.0}), ("stall", {"load": 0.0})),
    "drag": (("stall", {"load": 0.4}), ("stall", {"load": 0.0})),
    "heat": (("overheat", {"to_c": 50.0}), ("overheat", {"to_c": 25.0})),
    "battery": (("drain_battery", {"to_pct": 4.0}), ("charge_battery", {"to_pct": 90.0})),
    "depth_drift": (("depth_drift", {"rate_um_per_s": 300.0}), ("depth_drift", {})),
    "depth_stuck": (("depth_stuck", {}), ("depth_stuck", {})),
    "internal": (("internal_fault", {}), None),
}


def handle(pen: SimulatedPen, request: dict[str, Any]) -> dict[str, Any]:
    """Apply one request to `pen`; the reply to send back (never raises for a bad request)."""
    action = request.get("action")
    handler = _ACTIONS.get(action) if isinstance(action, str) else None
    if handler is None:
        return {
            "ok": False,
            "error": f"action {action!r} is not one of {', '.join(sorted(_ACTIONS))}",
        }
    params = {k: v for k, v in request.items() if k != "action"}
    try:
        extra = handler(pen, params) or {}
    except (RequestError, ScenarioError) as exc:
        return {"ok": False, "action": action, "error": str(exc)}
    return {"ok": True, "action": action, **extra}


def _no_params(run: Callable[[SimulatedPen], None]) -> Callable[..., None]:
    def apply(pen: SimulatedPen, params: dict[str, Any]) -> None:
        if params:
            raise RequestError(f"takes no parameters; got {', '.join(sorted(params))}")
        run(pen)

    return apply


def _cause(pen: SimulatedPen, params: dict[str, Any], *, clear: bool) -> dict[str, Any]:
    cause = params.get("cause")
    if cause not in CAUSES or set(params) != {"cause"}:
        raise RequestError(f"give cause = one of {', '.join(CAUSES)} (and nothing else)")
    raise_with, clear_with = CAUSES[cause]
    if clear and clear_with is None:
        raise RequestError(f"{cause} has no cause to clear: only a power cycle (reboot) clears it")
    action, fault_params = clear_with if clear else raise_with  # type: ignore[misc]
    if clear and cause == "depth_drift":
        pen.act(pen.firmware.end_depth_drift)
    elif clear and cause == "depth_stuck":
        pen.act(lambda now: pen.firmware.set_depth_stuck(False, now))
    elif clear and cause in ("jam", "drag"):
        pen.act(lambda now: pen.firmware.set_stall(0, now))
    else:
        pen.inject(action, **fault_params)
    return {"cause": cause}


def _set(pen: SimulatedPen, params: dict[str, Any]) -> dict[str, Any]:
    if set(params) == {"battery_pct"}:
        pen.inject("charge_battery", to_pct=params["battery_pct"])
    elif set(params) == {"temperature_c"}:
        pen.inject("overheat", to_c=params["temperature_c"])
    else:
        raise RequestError("give exactly one of battery_pct (0..100) or temperature_c (-20..150)")
    return dict(params)


def _inject(pen: SimulatedPen, params: dict[str, Any]) -> None:
    fault = params.get("fault")
    if not isinstance(fault, dict) or "action" not in fault or set(params) != {"fault"}:
        raise RequestError('give fault = {"action": ..., its parameters}, as a [[fault]] table')
    pen.inject(**fault)


def _seat(pen: SimulatedPen, params: dict[str, Any]) -> None:
    pen.inject("seat_cartridge", **params)


def _status(pen: SimulatedPen, params: dict[str, Any]) -> dict[str, Any]:
    firmware = pen.firmware
    with pen.lock:
        return {
            "state": firmware.state.name,
            "fault": firmware.active_fault.name,
            "cartridge": firmware.cartridge_state.name,
            "plugged": pen.plugged,
            "temperature_c": round(firmware.model.temperature_c, 2),
            "battery_pct": round(firmware.model.battery_pct, 1),
        }


_ACTIONS: dict[str, Callable[[SimulatedPen, dict[str, Any]], dict[str, Any] | None]] = {
    "button": _no_params(SimulatedPen.press_button),
    "pull_cartridge": _no_params(SimulatedPen.pull_cartridge),
    "seat_cartridge": _seat,
    "raise": lambda pen, params: _cause(pen, params, clear=False),
    "clear": lambda pen, params: _cause(pen, params, clear=True),
    "set": _set,
    "cut_link": _no_params(SimulatedPen.unplug),
    "restore_link": _no_params(SimulatedPen.replug),
    "reboot": _no_params(SimulatedPen.reboot),
    "inject": _inject,
    "status": _status,
}
ACTIONS = tuple(_ACTIONS)


class ControlPort:
    """The listening socket and its connections, served from the simulator's select loop."""

    def __init__(self, pen: SimulatedPen, path: Path) -> None:
        self._pen = pen
        self.path = path
        _check_path(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket left by a simulator that was killed
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(str(path))
        except OSError as exc:
            self._listener.close()
            raise ControlError(f"cannot open the control socket {path}: {exc.strerror}") from None
        self._listener.listen(4)
        self._listener.setblocking(False)
        self._clients: dict[int, tuple[socket.socket, bytearray]] = {}

    def fds(self) -> list[int]:
        return [self._listener.fileno(), *self._clients]

    def on_readable(self, fd: int) -> None:
        if fd == self._listener.fileno():
            with contextlib.suppress(BlockingIOError):
                connection, _ = self._listener.accept()
                connection.setblocking(False)
                self._clients[connection.fileno()] = (connection, bytearray())
            return
        connection, pending = self._clients[fd]
        try:
            data = connection.recv(MAX_LINE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        pending += data
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            self._reply(connection, _answer(self._pen, line))
        if len(pending) > MAX_LINE:
            self._reply(connection, {"ok": False, "error": f"a request line over {MAX_LINE} bytes"})
            self._drop(fd)

    def close(self) -> None:
        for fd in list(self._clients):
            self._drop(fd)
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _reply(self, connection: socket.socket, reply: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            connection.setblocking(True)
            connection.settimeout(1.0)
            connection.sendall(json.dumps(reply).encode() + b"\n")
            connection.setblocking(False)

    def _drop(self, fd: int) -> None:
        connection, _ = self._clients.pop(fd)
        connection.close()


def _answer(pen: SimulatedPen, line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"ok": False, "error": f"not a JSON object on one line: {exc}"}
    if not isinstance(request, dict):
        return {"ok": False, "error": 'send a JSON object, e.g. {"action": "button"}'}
    return handle(pen, request)


def _check_path(path: Path) -> None:
    if not path.parent.is_dir():
        raise ControlError(f"{path.parent} is not a directory; --control needs an existing one")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ControlError(f"{path} exists and is not a socket; choose another --control path")


def request(path: Path, message: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one request to a running simulator's control socket; its reply (for `sim ctl`)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout_s)
        connection.connect(str(path))
        connection.sendall(json.dumps(message).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(MAX_LINE)
            if not chunk:
                break
            reply += chunk
    answer = json.loads(reply)
    if not isinstance(answer, dict):
        raise ValueError(f"the simulator answered {answer!r}, not a JSON object")
    return answer
