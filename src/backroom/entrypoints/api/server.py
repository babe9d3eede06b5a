"""backroom's API served from a thread on a free loopback port (the demo's Shopify leg, end-to-end tests)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from backroom.bootstrap import Backroom
from backroom.entrypoints.api.app import create_app


@contextmanager
def serve_in_thread(backroom: Backroom) -> Iterator[str]:
    """The API's base URL while the block runs. The socket listens before the URL is handed out, so a request made
    at once queues until the server takes it: nobody has to wait for start-up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(create_app(backroom), log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="backroom-api")
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
