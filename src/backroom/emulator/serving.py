"""An emulator served over real HTTP: its ASGI app on a free 127.0.0.1 port, in a daemon thread, for as long as a
test or the demo needs it (``with Emulator(...) as e: … e.url …``)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any, Self

import uvicorn


class ServedApp:
    """Mixed into an emulator that sets ``app`` (its ASGI app): ``start``/``stop`` and the context manager."""

    app: Any
    url: str = ""
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _socket: socket.socket | None = None

    def thread_name(self) -> str:
        return type(self).__name__.lower()

    def start(self) -> Self:
        """Serve on a free 127.0.0.1 port in a thread (``url``); requests queue on the socket until it runs."""
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self._socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=self.thread_name())
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
