"""The optional language model (any OpenAI-compatible `/v1/chat/completions` endpoint), used only where it helps
and never trusted with a fact:

- **fallback intent**: when the classifier is unsure, the model may pick one intent from our list — its answer
  must be exactly one of the labels, and it only routes the message (an order still needs its proven owner);
- **phrasing**: it may reword a reply, but the rewording is used only if every fact in it (numbers, order and
  tracking numbers, amounts, dates, links, emails) is one the template's reply already stated; otherwise the
  template's words stand.

Any failure (no endpoint, a timeout, a malformed answer) falls back to the deterministic agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from backroom.support.model import Understanding
from backroom.support.ports import Interpreter

#: a fact in a reply: a run with a digit (amounts, dates, order/tracking numbers), a link, an email
_FACT = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|[#£$€]?\w*\d[\w.,:/-]*")
FALLBACK_CONFIDENCE = 0.5


class LanguageModel(Protocol):
    def complete(self, system: str, user: str) -> str | None:
        """The model's answer, or None when it could not give one (no endpoint, timeout, error)."""


def facts(text: str) -> set[str]:
    return {m.group().rstrip(".,:;!?)").lower() for m in _FACT.finditer(text)}


def grounded(rewording: str, original: str) -> bool:
    """True when the rewording states no fact the original did not."""
    return facts(rewording) <= facts(original)


class LlmInterpreter:
    """The classifier first; the model only for a message the classifier is unsure of or calls out of scope."""

    def __init__(self, base: Interpreter, model: LanguageModel, intents: Sequence[str], floor: float) -> None:
        self.base = base
        self.model = model
        self.intents = tuple(intents)
        self.floor = floor

    def understand(self, text: str, catalog: Sequence[str]) -> Understanding:
        u = self.base.understand(text, catalog)
        if u.in_scope and u.intent != "out_of_scope" and u.confidence >= self.floor:
            return u
        answer = self.model.complete(
            "You label customer messages to an online store. Answer with exactly one label from this list and "
            "nothing else: " + ", ".join(self.intents) + ". Use out_of_scope for anything not about the store.",
            text[:2000])
        label = (answer or "").strip().strip(".").lower()
        if label not in self.intents or label == "out_of_scope":
            return u
        return replace(u, intent=label, confidence=FALLBACK_CONFIDENCE, in_scope=True)


class LlmPhraser:
    def __init__(self, model: LanguageModel) -> None:
        self.model = model

    def phrase(self, reply: str, message: str) -> str:
        """A warmer wording of ``reply`` to ``message`` if the model gives one that adds no fact; else ``reply``."""
        answer = self.model.complete(
            "Rewrite the support reply below so it reads warmly and naturally, in the customer's language. Keep "
            "every fact exactly as written; add no fact, number, date, link or promise. Answer with the reply only.",
            f"Customer wrote: {message[:1000]}\n\nReply: {reply}")
        if not answer or len(answer) > 4 * len(reply) + 200 or not grounded(answer, reply):
            return reply
        return answer.strip()
