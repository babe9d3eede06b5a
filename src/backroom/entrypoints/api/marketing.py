"""/api/flows and /api/suppressions: the marketing flows and each one's funnel, and the addresses that
hard-bounced — behind the bearer token, the same use cases as `backroom flows list|funnel` and `backroom
suppressions list|remove`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from backroom.bootstrap import flow_rows
from backroom.entrypoints.api.app import BackroomDep, StoreScope, require_token

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], tags=["marketing"])


@router.get("/flows")
def list_flows(backroom: BackroomDep) -> list[dict[str, Any]]:
    """Every flow of the flows file: its trigger, whether it is enabled and its trigger wired, its emails."""
    return flow_rows(backroom.settings)


@router.get("/flows/{name}/funnel")
def flow_funnel(backroom: BackroomDep, store: StoreScope,
                name: Annotated[str, Path(min_length=1, max_length=64)]) -> dict[str, Any]:
    """One flow's funnel: enrolled, sent, skipped and deferred by reason, exits by reason, completed,
    unsubscribed, orders attributed (last touch within 5 days) and revenue per currency. 404 for no such flow."""
    (row,) = backroom.flow_funnel(name, store.slug)
    return row


@router.get("/suppressions")
def list_suppressions(backroom: BackroomDep, store: StoreScope,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> list[dict[str, Any]]:
    """Suppressed addresses, newest first: reason, source (smtp, dsn, operator), the reply or status, when."""
    return backroom.list_suppressions(store.slug, limit)


@router.delete("/suppressions/{email}", status_code=204)
def lift_suppression(backroom: BackroomDep, store: StoreScope,
                     email: Annotated[str, Path(min_length=3, max_length=320)]) -> Response:
    """Lift a suppression: marketing may reach the address again. 404 when it is not suppressed."""
    backroom.lift_suppression(email, store.slug, via="api")
    return Response(status_code=204)
