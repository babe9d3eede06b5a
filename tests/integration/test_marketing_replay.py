"""The Online Retail replay with synthetic abandonment (bench/flows_replay.py) on a small seeded slice: the three
flows on a simulated clock, a real local SMTP server in a process of its own, every check over the whole slice at
zero violations and the slice's funnel pinned."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def flows_replay() -> Any:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import flows_replay

    return flows_replay


def test_a_seeded_slice_of_the_online_retail_replay_keeps_every_marketing_promise(
        shared_data: Path, flows_replay: Any, database_url: str, tmp_path: Path) -> None:
    path = shared_data / flows_replay.UCI
    if not path.is_file():
        if os.environ.get("BACKROOM_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"{path} is not there")
        pytest.skip(f"{path} is not there")
    # a quarter of the subscribed unsubscribe here (the bench: 5 %), so the slice has some
    params = flows_replay.Parameters(seed=7, months=2, customers=20, unsubscribe_share=0.25)

    def tamper(log: list[tuple[str, list[str], datetime]]) -> list[tuple[str, list[str], datetime]]:
        """The first message again a second later, under a Message-ID the flows never made."""
        _, rcpts, at = log[0]
        return [*log, ("<flow.win_back.enr-999.step-9@backroom>", rcpts, at + timedelta(seconds=1))]

    report = flows_replay.replay(path, params, database_url=database_url, home=tmp_path, tamper=tamper)

    # the slice: Dec 2010 - Jan 2011, 20 customers (16 subscribed, 5 of them unsubscribing through the link's code)
    world = report["world"]
    assert (world["customers"], world["subscribed_at_start"], world["unsubscribed_mid_window"]) == (20, 16, 5)
    assert (world["invoices_sales"], world["checkouts_recovered"], world["checkouts_abandoned"]) == (34, 8, 1)
    assert (world["orders_imported"], world["delivered"]) == (34, 29)
    # every check over the whole slice: (messages or enrollments checked, violations)
    assert {name: (c["checked"], c["violations"]) for name, c in report["checks"].items()} == {
        "consent": (24, 0), "frequency_cap": (24, 0), "quiet_hours": (24, 0), "exit_after_order": (4, 0),
        "message_once": (24, 0), "nothing_stuck": (31, 0)}
    assert report["checks"]["message_once"]["raw_duplicates"] == 0
    # the funnel, as `backroom flows funnel --json` computes it: (enrolled, sent, converted) per flow
    assert {r["flow"]: (r["enrolled"], r["sent"], r["converted"]) for r in report["funnel"]} == {
        "abandoned_checkout": (7, 4, 3), "post_purchase": (21, 17, 1), "win_back": (3, 3, 1)}
    totals = report["totals"]
    assert totals["skipped"] == {"no_marketing_consent": 5, "nothing_to_recommend": 1}
    assert totals["deferred"] == {"quiet_hours": 3}
    assert totals["exited"] == {"condition_chose_exit": 6, "exit_condition": 5, "unsubscribed": 5}
    assert (totals["completed"], totals["unsubscribed"], totals["revenue"]) == (9, 5, {"GBP": "1706.77"})
    # the checks catch what they look for: the forged copy breaks the cap and is in no ledger
    assert {name: c["violations"] for name, c in report["checks_of_tampered_log"].items()} == {
        "consent": 0, "frequency_cap": 1, "quiet_hours": 0, "exit_after_order": 0, "message_once": 1,
        "nothing_stuck": 0}
    # what reached the SMTP server is what the funnel counts as sent, each Message-ID once
    assert report["smtp_server"] == {"received": 24, "unique": 24}
