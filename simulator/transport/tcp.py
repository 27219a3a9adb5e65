"""TCP for pyserial's `socket://host:port` URLs: one host at a time, like one USB cable.

A second connection while one is open is accepted and closed at once (the host sees EOF), so a
stray client never steals the pen from the one in control. An unplug closes the connection and
stops listening; a re-plug listens again on the same address.
"""

from __future__ import annotations

import contextlib
import socket

from simulator.pen import SimulatedPen


class TcpError(OSError):
    """The address cannot be served; the message says which and why."""


class TcpPort:
    def __init__(self, pen: SimulatedPen, host: str, port: int) -> None:
        self._pen = pen
        self.host = host
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.port = port
        self.refused = 0
        self.dropped_bytes = 0
        self._listen()
        pen.connect(self)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"socket://{host}:{self.port}"

    def fds(self) -> list[int]:
        out = []
        if self._listener is not None:
            out.append(self._listener.fileno())
        if self._conn is not None:
            out.append(self._conn.fileno())
        return out

    def on_readable(self, fd: int) -> None:
        if self._listener is not None and fd == self._listener.fileno():
            self._accept()
            return
        conn = self._conn
        if conn is None or fd != conn.fileno():
            return
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop_connection()
            return
        self._pen.receive(data)

    # ---- PenPort -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            sent = conn.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop_connection()
            return
        self.dropped_bytes += len(data) - sent

    def unplug(self) -> None:
        self._drop_connection()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def replug(self) -> None:
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self._pen.disconnect(self)
        self.unplug()

    # ---- internals -----------------------------------------------------------------------------

    def _listen(self) -> None:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TcpError(f"{self.host}: not a host name or address ({exc.strerror})") from None
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(address)
        except OSError as exc:
            listener.close()
            raise TcpError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror}; "
                "choose another port, or 0 for any free one"
            ) from None
        listener.listen(1)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._conn is not None:
            self.refused += 1
            conn.close()
            return
        conn.setblocking(False)
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
