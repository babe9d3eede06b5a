"""``backroom worker`` as a separate process, for the tests that SIGKILL workers mid-effect and start them again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def start_worker(database_url: str, smtp_port: int, home: Path, concurrency: int,
                 **env: str) -> subprocess.Popen[bytes]:
    """A worker on this database, sending mail to the local SMTP server at ``smtp_port``, polling fast and taking
    over a stalled job within a second; ``env`` adds or overrides settings (the warehouse, marketing…)."""
    settings = {
        "BACKROOM_DATABASE_URL": database_url,
        "BACKROOM_HOME": str(home),
        "BACKROOM_SMTP__HOST": "127.0.0.1",
        "BACKROOM_SMTP__PORT": str(smtp_port),
        "BACKROOM_WORKER__CONCURRENCY": str(concurrency),
        "BACKROOM_WORKER__HEARTBEAT_S": "0.2",
        "BACKROOM_WORKER__STALLED_AFTER_S": "1.0",
        "BACKROOM_WORKER__POLL_S": "0.2",
        **env,
    }
    cli = [sys.executable, "-c", "from backroom.entrypoints.cli.main import main; main()", "worker"]
    return subprocess.Popen(cli, env={**os.environ, **settings}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
