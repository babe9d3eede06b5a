"""Wall time of the whole Online Retail year through the pipeline (`backroom replay online-retail`).

    python bench/replay_online_retail.py [--path FILE] [--days N] [--database-url URL]

Runs in a private embedded PostgreSQL in a temporary BACKROOM_HOME (unless --database-url is given), reads the UCI
file from BACKROOM_SHARED_DATA (default ../shared/data), replays it day by day on a simulated clock, and prints
``wall_s`` (read + setup + every day + the final drain) and the figures that show it ran to completion, one
``name value`` line each; the same as JSON in bench/results/replay_online_retail.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from backroom.config import Settings
from backroom.demo.replay import replay_online_retail

RESULTS = Path(__file__).resolve().parent / "results" / "replay_online_retail.json"
SHARED = Path(os.environ.get("BACKROOM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=SHARED / "online_retail" / "online_retail_2010-12_2011-12.csv.gz")
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="backroom-replay-") as home:
        settings = Settings(home=Path(home), database_url=args.database_url)
        report = replay_online_retail(settings, args.path, days=args.days,
                                      progress=lambda m: print(f"# {m}", file=sys.stderr))
    s = report.summary
    figures = {
        "invoices": sum(report.invoices.values()),
        "orders_imported": s["orders_imported"],
        "orders_rejected": sum(report.orders_rejected.values()),
        "touchless_share": s["touchless_share"],
        "shipped": report.shipped,
        "delivered": report.delivered,
        "negative_stock_rows": s["negative_stock_rows"],
        "orders_not_settled": report.not_settled,
        "business_days": report.business_days,
        "wall_s": report.wall_s,
    }
    for name, value in figures.items():
        print(f"{name} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        **figures,
        "target_wall_s": 60,
        "phases_s": report.phases_s,
        "report": report.as_dict(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
