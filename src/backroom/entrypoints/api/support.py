"""/api/support: the message API (one customer message in, the agent's reply out, with everything an evaluation
needs), the conversations, and the deflection figures — behind the bearer token."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from backroom.adapters.db import support as support_db
from backroom.bootstrap import EMAIL_SOURCE, EmailOutcome
from backroom.entrypoints.api.app import (
    MAX_INBOUND_BYTES,
    SIGNATURE_HEADER,
    ApiProblem,
    BackroomDep,
    StoreHeader,
    StoreScope,
    _Body,
    _keep_rejected,
    _read_body,
    require_token,
    store_slug,
)
from backroom.errors import NotFound, SignatureInvalid
from backroom.service_layer.messagebus import InboxEntry
from backroom.shared.hashing import signature_matches
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Channel
from backroom.support.service import SupportOutcome
from backroom.support.widget import verified_email

router = APIRouter(prefix="/api/support", dependencies=[Depends(require_token)], tags=["support"])
inbound = APIRouter(tags=["support"])


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


@inbound.post(
    "/inbound/email",
    summary="A customer's email to the support agent: the raw RFC 822 message, signed with the inbound secret",
    responses={400: {"description": "not an email the agent can read"}, 401: {"description": "bad signature"},
               503: {"description": "no inbound secret configured"}},
)
async def inbound_email(
    request: Request, backroom: BackroomDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None, store: StoreHeader = None,
) -> dict[str, Any]:
    """Your mail provider's inbound route (or a forwarding script) posts each message here. The sender's address is
    the customer's identity (the provider checks SPF/DKIM); the reply goes back over SMTP in the same thread. A
    message is handled once by its Message-ID: a repeated delivery answers ``duplicate``. An email a machine sent
    (an auto-reply, a bounce, a mailing list) is kept but not answered: ``ignored``, with the reason. A bounce
    report's hard-bounced recipients the store knows are suppressed (``suppressed``: how many; docs/flows.md)."""
    secret = backroom.settings.inbound_secret.get_secret_value() if backroom.settings.inbound_secret else ""
    if not secret:
        raise ApiProblem(503, "inbound_not_configured", "inbound email is disabled: set BACKROOM_INBOUND_SECRET")
    body = await _read_body(request, MAX_INBOUND_BYTES)
    slug = store_slug(backroom, store)
    if not signature_matches(secret, body, signature):
        kept = InboxEntry.from_raw(EMAIL_SOURCE, None, "email", body, {})  # kept under its hash
        await run_in_threadpool(_keep_rejected, backroom, slug, kept, SignatureInvalid.code)
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is missing or does not match the body")
    received: EmailOutcome = await run_in_threadpool(backroom.receive_email, body, slug)
    if received.outcome == "duplicate":
        return {"outcome": "duplicate", "message_id": received.message_id}
    if received.outcome == "ignored" and received.reason == "bounce":  # its hard-bounced recipients: suppressed
        return {"outcome": "ignored", "message_id": received.message_id, "reason": received.reason,
                "suppressed": received.suppressed}
    if received.outcome == "ignored":
        return {"outcome": "ignored", "message_id": received.message_id, "reason": received.reason}
    return {"outcome": "answered", "message_id": received.message_id, "handover": received.handover}


WIDGET_JS = resources.files("backroom.entrypoints.api").joinpath("static/widget.js")


@inbound.get("/widget.js", summary="The chat widget's script, for a <script> tag on the store's pages")
def widget_script() -> Response:
    return Response(WIDGET_JS.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "public, max-age=300"})


class WidgetMessage(_Body):
    session: str = Field(min_length=8, max_length=100, pattern=r"^[\w-]+$", description="the browser's session id")
    text: str = Field(min_length=1, max_length=2000)
    identity: str | None = Field(default=None, max_length=1000, description="a logged-in customer's identity token")


@inbound.post("/widget/messages", summary="A visitor's message from the chat widget (public)")
def widget_message(backroom: BackroomDep, body: WidgetMessage, store: StoreHeader = None) -> dict[str, Any]:
    """The widget's own endpoint: anonymous visitors prove an order is theirs in the conversation; a logged-in
    customer's identity token (signed by the store's backend with BACKROOM_SUPPORT__WIDGET_SECRET) makes their
    email the verified sender. Only the reply and whether a person takes over go back to the browser."""
    secret = backroom.settings.support.widget_secret
    email = verified_email(secret.get_secret_value() if secret else "", body.identity, backroom.clock.now())
    outcome: SupportOutcome = backroom.handle(HandleSupportMessage(
        Channel.WIDGET.value, body.session, body.text, email, email is not None), store_slug(backroom, store))
    return {"reply": outcome.reply.text, "handed_over": outcome.reply.handover is not None}
