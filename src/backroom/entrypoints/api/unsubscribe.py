"""/unsubscribe/{token}: the one-click unsubscribe link in every marketing email (RFC 8058). Public (the token is
signed): GET shows a confirmation page with one button, POST (the button, or a mail client's one-click
``List-Unsubscribe=One-Click``) records the unsubscribe. A link backroom did not sign changes nothing."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from backroom.entrypoints.api.app import BackroomDep
from backroom.errors import SignatureInvalid
from backroom.marketing.unsubscribe import read_unsubscribe_token

router = APIRouter(tags=["marketing"])
Token = Annotated[str, Path(min_length=3, max_length=1000)]

_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
         "<meta name='viewport' content='width=device-width'></head>"
         "<body style='font-family:sans-serif;max-width:32rem;margin:4rem auto'>{body}</body></html>")
_INVALID = _PAGE.format(title="Link not valid", body="<h1>This link is not valid</h1><p>Use the unsubscribe link "
                        "from the email itself, or reply to the email and ask us to stop.</p>")


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(backroom: BackroomDep, token: Token) -> HTMLResponse:
    secret = backroom.settings.marketing.unsubscribe_secret
    try:
        _, email = read_unsubscribe_token(secret.get_secret_value().encode() if secret else b"", token)
    except SignatureInvalid:
        return HTMLResponse(_INVALID, status_code=400)
    return HTMLResponse(_PAGE.format(title="Unsubscribe", body=(
        f"<h1>Unsubscribe</h1><p>Stop marketing emails to <strong>{escape(email)}</strong>? Emails about your "
        f"orders (confirmations, shipping) still come.</p><form method='post'><button type='submit'>"
        f"Unsubscribe</button></form>")))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(backroom: BackroomDep, token: Token) -> HTMLResponse:
    try:
        email, _ = backroom.unsubscribe(token)
    except SignatureInvalid:
        return HTMLResponse(_INVALID, status_code=400)
    return HTMLResponse(_PAGE.format(title="Unsubscribed", body=(
        f"<h1>You are unsubscribed</h1><p>{escape(email)} will get no more marketing emails from us.</p>")))
