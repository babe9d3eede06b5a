"""The API in several processes on one port (2 cores: 2 processes):

    python -m backroom.entrypoints.api.processes --workers 2 [--host 127.0.0.1] [--port 8000]

Each API process builds its own Backroom from the environment (``app.recording_app_from_environment``): it verifies
webhooks, records them in the inbox and answers. This supervising process imports them: its inbox processor thread
is woken by the NOTIFY of each recording commit. Measured here (2 cores, 2 API processes, 8 concurrent webhooks),
a processor thread inside the processes that serve requests holds the GIL the requests need: 600 requests/s at p99
30 ms, against 900-1,080 at p99 16-20 ms with the processor in a process of its own. PostgreSQL is all they
share. Run ``backroom worker`` beside them for effects and the inbox safety net. With ``--workers 1``, one process
records and imports (``app.app_from_environment``).

uvicorn's own ``--workers`` binds the listening socket with protocol 0, so asyncio sets no TCP_NODELAY on the
connections it accepts, and every reply on a keep-alive connection waits for the client's delayed ACK (~40 ms on
Linux; uvicorn issue #3149; measured here: 44 ms per webhook instead of 5). This binds it the same way, then tells
Python it is TCP.
"""

from __future__ import annotations

import argparse
import socket
import threading

import uvicorn
from uvicorn.supervisors import Multiprocess

from backroom.bootstrap import build
from backroom.entrypoints.api.app import quiet_collector

ONE_PROCESS = "backroom.entrypoints.api.app:app_from_environment"
RECORDING = "backroom.entrypoints.api.app:recording_app_from_environment"


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 2, *, log_level: str = "info",
          access_log: bool = True) -> None:
    if workers == 1:
        uvicorn.Server(uvicorn.Config(ONE_PROCESS, factory=True, host=host, port=port, log_level=log_level,
                                      access_log=access_log)).run()
        return
    config = uvicorn.Config(RECORDING, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                            access_log=access_log)
    backroom = build()
    quiet_collector()
    stop = threading.Event()
    inbox = threading.Thread(target=backroom.run_inbox_processor, args=(stop,), name="backroom-inbox-listener",
                             daemon=True)
    inbox.start()
    try:
        Multiprocess(config, sockets=[as_tcp(config.bind_socket())]).run()
    finally:
        stop.set()
        inbox.join(timeout=10)
        backroom.close()


def as_tcp(sock: socket.socket) -> socket.socket:
    """The same listening socket (same descriptor), known to be TCP, so accepted connections get TCP_NODELAY."""
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def main() -> None:
    parser = argparse.ArgumentParser(description="backroom's API in several processes on one port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    args = parser.parse_args()
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
