"""Retrieval over a store owner's policy documents (markdown): passages by heading, BM25 search, extractive answers.

The agent never writes policy text of its own: an answer is made of sentences copied from one passage of the owner's
documents, with the file and heading it came from, or it is nothing at all (and the agent hands over to a person).

Text normalisation, used for both the passages and the questions (``terms``):
- NFKC, lower case, curly apostrophes made straight; words are runs of letters/digits (``£50`` → ``50``,
  ``5–10`` → ``5``, ``10``; ``t-shirt`` → ``t``, ``shirt``);
- English stop words dropped (a short list: function words only, so "return", "free", "not" stay);
- a few irregular shop words mapped to one form before stemming (``delivery``/``delivered`` → ``deliver``,
  ``paid`` → ``pay``, ``worn`` → ``wear``, ``money back`` → ``refund`` …) where the stemmer cannot join them;
- Snowball English (Porter2) stemming via PyStemmer, so "returns/returned/returning" and "refunds/refunded" meet.
  Porter2 rather than a lighter s-stemmer because customers ask with verbs ("can I return", "when is it shipped")
  and policies are written with nouns ("Returns", "Shipping"); it is the stemmer bm25s itself recommends.

Unrelated questions get no hit. A hit needs all of: a BM25 score of at least ``min_score`` × the idf of a word found
in a single passage (so that the bar scales with the size of the library); at least ``min_coverage``
of the question's term weight (idf, with words that occur nowhere in the documents weighing as much as the rarest
word) found in the passage; and, among hits, a score of at least ``relative`` × the best one. The coverage test is
what keeps "what's the weather in Paris" or "reset my bank PIN" from matching on a single common word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

__all__ = ["Hit", "Passage", "PolicyAnswer", "PolicyLibrary", "content_words", "split_passages", "terms"]

TYPO_MIN_LENGTH = 5  # shorter words are not mended: too many near neighbours
TYPO_MIN_RATIO = 88.0  # rapidfuzz ratio; "paymnent" → payment (93), but "weather" ≠ "whether" (86)
MAX_QUERY_WORDS = 64  # a question is a message; a pasted essay is searched by its first words
MIN_WORDS = 80
MAX_WORDS = 150

def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set("""
a about above after again against all am an and any are as at be because been before being below between both by
can could did do does doing down during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just let me more most my myself of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom why will with would
whether you your yours yourself yourselves im ive id youre youve ill dont doesnt didnt cant wont isnt arent wasnt
s t d ll m
re ve hi hello hey please thanks thank pls plz u ur get got want wanted need like know tell also still much many
hasnt havent hadnt wouldnt shouldnt couldnt werent something anything thing things stuff way really actually ok okay
""") | _word_set("""
help helping assist assistance assisting see seeing check checking show showing list listing find finding look
looking view tell telling learn explain inform information info details detail policy policies guarantee rules
case cases request requesting ask asking wonder wondering question questions call calling able possible
option options available availability choose go going gonna wanna wan na kindly could would try trying tried
circumstances circumstance situations situation expect expecting product products article articles purchase purchases
take takes taking took give gives gave make makes us
""")  # how a request is framed, not what it is about: a policy document never says "policy" or "help me see"

# Irregular forms the Porter2 stemmer keeps apart (delivered → "deliv" but delivery → "deliveri"); mapped first.
IRREGULAR = {
    "delivery": "deliver", "deliveries": "deliver", "delivered": "deliver", "delivering": "deliver",
    "delivers": "deliver", "arrive": "deliver", "arrived": "deliver", "arrives": "deliver", "arriving": "deliver",
    "arrival": "deliver", "paid": "pay", "worn": "wear", "bought": "buy", "sent": "send",
    "postage": "ship", "shipment": "ship", "shipments": "ship", "dispatch": "ship", "dispatched": "ship",
    "cancellation": "cancel", "cancelled": "cancel", "canceled": "cancel", "reimbursement": "refund",
    "reimburse": "refund", "reimbursed": "refund", "colour": "color", "colours": "color", "exchange": "swap",
    "exchanges": "swap", "exchanged": "swap", "exchanging": "swap", "swap": "swap", "swapped": "swap",
    "rebate": "refund", "rebates": "refund", "restitution": "refund", "compensation": "refund",
    "compensations": "refund", "reimbursements": "refund", "refunding": "refund", "parcel": "parcel",
    "parcels": "parcel", "package": "parcel", "packages": "parcel",
}
EU_COUNTRIES = ("austria", "belgium", "bulgaria", "croatia", "cyprus", "czechia", "czech republic", "denmark",
                "estonia", "finland", "france", "germany", "greece", "hungary", "ireland", "italy", "latvia",
                "lithuania", "luxembourg", "malta", "netherlands", "holland", "poland", "portugal", "romania",
                "slovakia", "slovenia", "spain", "sweden")
# Phrases rewritten before tokenising: durations and prices asked with question words, country names to the
# regions policies speak of (a geographic fact, not store knowledge), and two-word synonyms.
PHRASES = (
    (re.compile(r"\bhow long\b"), " days "),
    (re.compile(r"\bhow much\b"), " cost "),
    (re.compile(r"\bhow soon\b|\bhow many (?:working |business )?days\b"), " days "),
    (re.compile(r"\b(?:the )?united states(?: of america)?\b|\busa\b|\bamerica\b"), " usa "),
    (re.compile(r"\b(?:the )?united kingdom\b|\b(?:great )?britain\b|\bengland\b|\bscotland\b|\bwales\b"
                r"|\bnorthern ireland\b"), " uk "),
    (re.compile(r"\b(?:the )?european union\b|\beurope\b|\b(?:" + "|".join(EU_COUNTRIES) + r")\b"), " eu "),
    (re.compile(r"\bmoney back\b"), " refund "),
    (re.compile(r"\bsend (?:it |them |this |that )?back\b"), " return "),
    (re.compile(r"\bgive (?:it |them |this |that )?back\b"), " return "),
    (re.compile(r"\bcash on delivery\b"), " cashondelivery "),
)

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHE = re.compile(r"['’`]")
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return IRREGULAR.get(word) or str(_STEMMER.stemWord(word))


_US = re.compile(r"\bU\.?S\.?(?:A\.?)?\b")  # "US" in capitals is the country, "us" is a pronoun


def content_words(text: str) -> list[str]:
    """The words of a text that can carry meaning: normalised, phrases rewritten, stop words dropped; unstemmed."""
    lowered = _APOSTROPHE.sub("", _US.sub(" usa ", unicodedata.normalize("NFKC", text)).lower())
    for pattern, replacement in PHRASES:
        lowered = pattern.sub(replacement, lowered)
    return [word for word in _WORD.findall(lowered) if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """The normalised search terms of a text (see the module's doc)."""
    return [_stem(word) for word in content_words(text)]


@dataclass(frozen=True)
class Passage:
    """One passage of one policy file: the text under a heading (or part of it, for a long section)."""

    file: str
    headings: tuple[str, ...]
    text: str
    index: int  # position in the library

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    coverage: float  # share of the question's term weight found in the passage, 0..1

    @property
    def file(self) -> str:
        return self.passage.file

    @property
    def heading(self) -> str:
        return self.passage.heading


@dataclass(frozen=True)
class PolicyAnswer:
    """Sentences copied verbatim from one passage, in their order there, and where they come from."""

    sentences: tuple[str, ...]
    file: str
    heading: str
    score: float
    passage: Passage

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def citation(self) -> str:
        return f"{self.file}, “{self.heading}”"


# ---------------------------------------------------------------------------------------------------- splitting

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _clean_inline(line: str) -> str:
    return _EMPHASIS.sub("", _LINK.sub(r"\1", line)).strip()


def _blocks(lines: Sequence[str]) -> list[str]:
    """Paragraphs, list items and table rows of a section body, as plain text (inline markup removed)."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for raw in lines:
        if not raw.strip() or _TABLE_RULE.match(raw):
            flush()
            continue
        if _LIST_ITEM.match(raw) or raw.lstrip().startswith("|"):
            flush()
            if raw.lstrip().startswith("|"):
                cells = [_clean_inline(c) for c in raw.strip().strip("|").split("|")]
                blocks.append(" | ".join(c for c in cells if c))
            else:
                current.append("- " + _clean_inline(_LIST_ITEM.sub("", raw)))
            continue
        current.append(_clean_inline(raw))
    flush()
    return [b for b in blocks if b]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(£€$A-Z0-9])")


def _sentences(block: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(block) if s.strip()]


def _words(text: str) -> int:
    return len(text.split())


def _chunks(blocks: Sequence[str]) -> list[str]:
    """Group blocks into passages of MIN_WORDS..MAX_WORDS words at block boundaries; a section that fits in
    MAX_WORDS stays whole; a block longer than MAX_WORDS is cut at sentence ends into near-equal pieces."""
    units: list[str] = []
    for block in blocks:
        size = _words(block)
        if size <= MAX_WORDS:
            units.append(block)
            continue
        target = size / math.ceil(size / MAX_WORDS)
        piece: list[str] = []
        for sentence in _sentences(block):
            current = _words(" ".join(piece))
            if piece and (current >= target or current + _words(sentence) > MAX_WORDS):
                units.append(" ".join(piece))
                piece = []
            piece.append(sentence)
        if piece:
            units.append(" ".join(piece))
    if _words("\n".join(units)) <= MAX_WORDS:
        return ["\n".join(units)] if units else []
    chunks: list[list[str]] = [[]]
    for unit in units:
        size = _words("\n".join(chunks[-1]))
        if chunks[-1] and (size >= MIN_WORDS or size + _words(unit) > MAX_WORDS):
            chunks.append([])
        chunks[-1].append(unit)
    # a short tail joins the chunk before it when both still fit in MAX_WORDS
    if len(chunks) > 1 and _words("\n".join(chunks[-2] + chunks[-1])) <= MAX_WORDS:
        chunks[-2].extend(chunks.pop())
    return ["\n".join(chunk) for chunk in chunks]


def split_passages(file: str, markdown: str) -> list[Passage]:
    """The passages of one markdown file, each with the path of headings above it (index -1: set by the library)."""
    passages: list[Passage] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        for chunk in _chunks(_blocks(body)):
            passages.append(Passage(file, tuple(h for _, h in path), chunk, -1))
        body.clear()

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, _clean_inline(match.group(2))))
        else:
            body.append(line)
    flush()
    return passages


# ---------------------------------------------------------------------------------------------------- library


class PolicyLibrary:
    """BM25 (bm25s, Lucene variant, k1=1.2, b=0.75) over the passages of a store's policy files."""

    def __init__(self, passages: Iterable[Passage], *, min_score: float = 0.18, min_coverage: float = 0.5,
                 relative: float = 0.5) -> None:
        self.passages: tuple[Passage, ...] = tuple(
            Passage(p.file, p.headings, p.text, i) for i, p in enumerate(passages))
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.relative = relative
        self._terms = [set(terms(" ".join(p.headings) + "\n" + p.text)) for p in self.passages]
        self._vocabulary = sorted({w for p in self.passages for w in content_words(" ".join(p.headings) + " " + p.text)
                                   if len(w) >= TYPO_MIN_LENGTH and not w.isdigit()})
        self._corrections: dict[str, str] = {}
        n = len(self.passages)
        df: dict[str, int] = {}
        for passage_terms in self._terms:
            for term in passage_terms:
                df[term] = df.get(term, 0) + 1
        # Lucene idf, as bm25s uses; a word found in no passage weighs as much as one found in a single passage
        self._idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}
        self._idf_unknown = math.log(1 + (n - 1 + 0.5) / 1.5) if n else 1.0
        self._retriever: bm25s.BM25 | None = None
        if n:
            self._retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
            corpus = [terms(" ".join(p.headings) + "\n" + p.text) or [""] for p in self.passages]
            self._retriever.index(corpus, show_progress=False)

    # -- construction

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], **options: float) -> PolicyLibrary:
        """``{file name: markdown}`` → library; files in name order."""
        return cls([p for name in sorted(texts) for p in split_passages(name, texts[name])], **options)

    @classmethod
    def from_folder(cls, path: str | Path, **options: float) -> PolicyLibrary:
        """Every ``*.md`` file directly in ``path``."""
        folder = Path(path)
        return cls.from_texts({f.name: f.read_text(encoding="utf-8") for f in sorted(folder.glob("*.md"))},
                              **options)

    @classmethod
    def bundled(cls, **options: float) -> PolicyLibrary:
        """The sample policies shipped with backroom (returns, shipping, payments, sizing) for the demo."""
        folder = resources.files("backroom.support") / "policies"
        return cls.from_texts({f.name: f.read_text(encoding="utf-8") for f in folder.iterdir()
                               if f.name.endswith(".md")}, **options)

    # -- retrieval

    def _weights(self, question: str) -> dict[str, float]:
        """Idf weight of each term of the question, misspelt words first mended against the documents' words."""
        weights: dict[str, float] = {}
        for word in content_words(question)[:MAX_QUERY_WORDS]:
            term = _stem(word)
            if term not in self._idf and len(word) >= TYPO_MIN_LENGTH and not word.isdigit():
                term = self._corrections.get(word, "")
                if not term:
                    match = process.extractOne(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_MIN_RATIO)
                    term = _stem(match[0]) if match else _stem(word)
                    if len(self._corrections) < 100_000:
                        self._corrections[word] = term
            weights[term] = self._idf.get(term, self._idf_unknown)
        return weights

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The best passages for a question, best first; empty when none passes the thresholds."""
        weights = self._weights(question)
        if self._retriever is None or not weights or k <= 0:
            return []
        known = [t for t in weights if t in self._idf]
        if not known:
            return []
        scores = np.asarray(self._retriever.get_scores(known), dtype=np.float64)
        total = sum(weights.values())
        hits: list[Hit] = []
        for i in np.argsort(-scores, kind="stable")[: max(k * 4, 8)]:
            score = float(scores[i])
            if score < self.min_score * self._idf_unknown:
                break
            coverage = sum(w for t, w in weights.items() if t in self._terms[i]) / total
            if coverage >= self.min_coverage:
                hits.append(Hit(self.passages[int(i)], round(score, 4), round(coverage, 4)))
        if not hits:
            return []
        best = hits[0].score
        return [h for h in hits if h.score >= self.relative * best][:k]

    def answer(self, question: str, max_sentences: int = 2) -> PolicyAnswer | None:
        """The sentences of the best passage that share most weight with the question (extractive), or None."""
        hits = self.search(question, k=1)
        if not hits:
            return None
        hit = hits[0]
        weights = self._weights(question)
        units = [s for block in hit.passage.text.split("\n") for s in _sentences(block)]
        scored = [(sum(weights.get(t, 0.0) for t in set(terms(s))), i) for i, s in enumerate(units)]
        ranked = sorted(scored, key=lambda x: (-x[0], x[1]))
        top = ranked[0][0]
        if top <= 0:
            chosen = list(range(min(max_sentences, len(units))))
        else:
            chosen = sorted(i for s, i in ranked[:max_sentences] if s >= 0.5 * top)
        return PolicyAnswer(tuple(units[i] for i in chosen), hit.file, hit.heading, hit.score, hit.passage)
