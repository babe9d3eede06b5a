"""/api/support: the message API (one customer message in, the agent's reply out, with everything an evaluation
needs), the conversations, and the deflection figures — behind the bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from backroom.adapters.db import support as support_db
from backroom.entrypoints.api.app import BackroomDep, StoreScope, _Body, require_token
from backroom.errors import NotFound
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Channel
from backroom.support.service import SupportOutcome

router = APIRouter(prefix="/api/support", dependencies=[Depends(require_token)], tags=["support"])


class SenderIn(_Body):
    email: str | None = Field(default=None, max_length=320)
    verified: bool = Field(default=False, description="the caller vouches for this email (a logged-in customer)")
    name: str | None = Field(default=None, max_length=200)


class MessageIn(_Body):
    conversation_id: str = Field(min_length=1, max_length=200, description="the caller's id for the conversation")
    channel: Channel = Channel.API
    text: str = Field(min_length=1, max_length=10_000)
    sender: SenderIn = Field(default_factory=SenderIn)


@router.post("/messages")
def message(backroom: BackroomDep, store: StoreScope, body: MessageIn) -> dict[str, Any]:
    """Answer one message. The reply says what was understood (intents, confidence), what was done (actions),
    whether the asker's identity is verified, what the answer cites, and whether — and why — a person takes over."""
    outcome: SupportOutcome = backroom.handle(HandleSupportMessage(
        body.channel.value, body.conversation_id, body.text, body.sender.email, body.sender.verified,
        body.sender.name), store.slug)
    reply = outcome.reply
    return {"conversation_id": outcome.conversation_id, "reply": reply.text, "intents": reply.intents,
            "confidence": round(reply.confidence, 4), "actions": reply.actions, "verified": reply.verified,
            "citations": [{"file": c.file, "heading": c.heading} for c in reply.citations],
            "handover": None if reply.handover is None else {
                "reason": reply.handover.value, "summary": reply.handover_summary,
                "suggested_reply": reply.suggested_reply},
            "latency_ms": round(outcome.latency_ms, 3)}


@router.get("/conversations")
def conversations(backroom: BackroomDep, store: StoreScope,
                  status: Annotated[str | None, Query(max_length=16)] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    with backroom.engine.connect() as conn:
        return support_db.conversation_rows(conn, store.id, status, limit)


@router.get("/conversations/{conversation_id}")
def conversation(backroom: BackroomDep, store: StoreScope,
                 conversation_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
    with backroom.engine.connect() as conn:
        found = support_db.conversation_detail(conn, store.id, conversation_id)
    if found is None:
        raise NotFound(f"no conversation {conversation_id}", code="conversation_not_found")
    return found


@router.get("/stats")
def stats(backroom: BackroomDep, store: StoreScope) -> dict[str, Any]:
    """Deflection (conversations the agent resolved without a person) and the hours that saved."""
    with backroom.engine.connect() as conn:
        return support_db.support_stats(conn, store.id, backroom.settings.support.minutes_per_conversation)
