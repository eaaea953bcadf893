"""A TCP relay for tests: passes traffic to a server, or swallows it like a dead network path.

Swallowing, it keeps every connection open and accepts new ones, but forwards nothing either
way, closes included: nobody learns anything, as when a firewall starts dropping packets.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

POLL_S = 0.05
Pump = Callable[[socket.socket, socket.socket], None]


class TcpProxy:
    """Listens on 127.0.0.1:``port`` and relays every connection to ``upstream``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.passing = threading.Event()
        self.passing.set()
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def swallow(self) -> None:
        self.passing.clear()

    def pass_traffic(self) -> None:
        self.passing.set()

    def _start(self, pump: Pump, *ends: socket.socket) -> None:
        thread = threading.Thread(target=pump, args=ends, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            if not select.select([self._listener], [], [], POLL_S)[0]:
                continue
            client, _ = self._listener.accept()
            server = socket.create_connection(self._upstream)
            self._sockets += [client, server]
            self._start(self._pump, client, server)
            self._start(self._pump, server, client)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with suppress(OSError):
            while not self._stopped.is_set():
                if not select.select([source], [], [], POLL_S)[0]:
                    continue
                data = source.recv(65536)
                if not self.passing.is_set():
                    if not data:
                        return  # a close is swallowed too: the other side never hears of it
                    continue
                if not data:
                    target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(data)

    def stop(self) -> None:
        """Close every connection and wait for the relay's threads."""
        self._stopped.set()
        self._acceptor.join(timeout=5)  # no connection is added from here on
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in [*self._sockets, self._listener]:
            sock.close()


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.stop()
