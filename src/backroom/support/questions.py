"""Where one question of a message ends and the next begins: "…? …", "…. How …", "…, and do you …", "… Also, what …".
Used by the language layer (each question classified on its own when the whole is unclear) and by the agent (each
question answered from its own source)."""

from __future__ import annotations

import re

_ASKING = (r"(?:how|what|whats|what's|when|where|which|who|why|can|could|do|does|did|is|are|will|would|should|may|"
           r"have|has|if|any)")
CLAUSE_BREAK = re.compile(rf"(?<=[?!])\s+|[.;]\s+(?=(?:and\s+|also,?\s+|plus\s+)?{_ASKING}\b)"
                          rf"|,?\s+(?:and|also|plus)\s+(?={_ASKING}\b)", re.I)
QUESTION_START = re.compile(rf"^(?:and\s+|also,?\s+|plus\s+)?{_ASKING}\b", re.I)


def split_clauses(text: str, min_words: int = 2) -> list[str]:
    """The message's parts between question boundaries, each at least ``min_words`` long."""
    parts = [p.strip(" ,.;!") for p in CLAUSE_BREAK.split(text) if p and p.strip(" ,.;!")]
    return [p for p in parts if len(p.split()) >= min_words]


def split_questions(text: str) -> list[str]:
    """The questions of one message, each at least three words long and asked as a question."""
    return [p for p in split_clauses(text, 3) if "?" in p or QUESTION_START.match(p)]
