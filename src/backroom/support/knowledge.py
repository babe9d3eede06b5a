"""Retrieval over a store owner's policy documents (markdown): passages by heading, BM25 search, extractive answers.

The agent never writes policy text of its own: an answer is made of sentences copied from one passage of the owner's
documents, with the file and heading it came from, or it is nothing at all (and the agent hands over to a person).

Text normalisation, used for both the passages and the questions (``terms``):
- NFKC, lower case, curly apostrophes made straight; words are runs of letters/digits (``£50`` → ``50``,
  ``5–10`` → ``5``, ``10``; ``t-shirt`` → ``t``, ``shirt``);
- English stop words dropped (function words and the framing of a request, so "return", "free", "not" stay; the
  garment asked about too: "can I return trousers I've washed" asks about washing, not trousers);
- phrases rewritten to the words policies use: ``money back`` → refund, ``send it back`` → return, ``next day`` →
  express, ``take the payment`` → charge, ``cut-off`` → dispatch time, a duration (``3 weeks``) → day, a country →
  its region (``France`` → eu), ``outside the UK``/``abroad`` → abroad, and a carrier's name is a courier
  (``Royal Mail`` → royal mail courier);
- a few irregular shop words mapped to one form before stemming (``delivery``/``delivered`` → ``deliver``,
  ``paid`` → ``pay``, ``worn`` → ``wear``, ``carrier`` → courier, ``pick`` → choose …) where the stemmer cannot join
  them;
- Snowball English (Porter2) stemming via PyStemmer, so "returns/returned/returning" and "refunds/refunded" meet.
  Porter2 rather than a lighter s-stemmer because customers ask with verbs ("can I return", "when is it shipped")
  and policies are written with nouns ("Returns", "Shipping"); it is the stemmer bm25s itself recommends.

Unrelated questions get no hit. A hit needs all of: a BM25 score of at least ``min_score`` × the idf of a word found
in a single passage (so that the bar scales with the size of the library); at least ``min_coverage``
of the question's term weight (idf, with words that occur nowhere in the documents weighing as much as the rarest
word) found in the passage; and, among hits, a score of at least ``relative`` × the best one. The coverage test is
what keeps "what's the weather in Paris" or "reset my bank PIN" from matching on a single common word.

Question side only: a word the documents do not know is mended to the document word one edit away
(normalise.Normaliser; ``protect`` adds a wider vocabulary of real words that are not typos), and a term may be found
as one of its ``ALTERNATIVES`` ("deliver to France" is answered by "we ship to"). Passages are ranked by BM25 ×
(``FOCUS_BASE`` + the share of the question found in one sentence + the share found in the section's heading): a
passage that says what was asked in one place beats one that merely shares its words, and one whose sentence and
heading together carry no more than ``MIN_FOCUS`` is no hit. ``answer`` gives nothing when the runner-up ranks within
``AMBIGUOUS`` of the best and is as specific (has the question's rarest word the best one has): a person is better
than the wrong one of two sections.
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

from backroom.support.normalise import Normaliser

__all__ = ["Hit", "Passage", "PolicyAnswer", "PolicyLibrary", "content_words", "split_passages", "terms"]

TYPO_MIN_LENGTH = 4  # shorter words are not mended: too many near neighbours (normalise.Normaliser.mend)
FOCUS_BASE = 0.5  # a passage's rank: its BM25 score × (FOCUS_BASE + the share of the question in its best sentence
#                   + the share in its heading)
MIN_FOCUS = 0.5  # a passage must say more than half of what is asked in one sentence (or its heading)
AMBIGUOUS = 0.95  # a runner-up ranked this close to the best passage makes the answer too uncertain to give (chosen
#                  on the Bitext train+dev policy questions: 546 right, 1 wrong file; at 0.97, 641 right, 40 wrong)
MAX_QUERY_WORDS = 64  # a question is a message; a pasted essay is searched by its first words
MIN_WORDS = 80
MAX_WORDS = 150

def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set("""
a about above after again against all am an and any are as at be because been before being below both by
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
take takes taking took give gives gave make makes us already ago live living based located buy bought buying
""") | _word_set("""
item items shirt shirts tee tees tshirt tshirts jumper jumpers sweater sweaters trousers jeans jacket jackets coat coats
dress dresses skirt skirts hoodie hoodies cardigan cardigans scarf scarves tote totes top tops shorts blouse blouses
garment garments
""")
# The first lists: how a request is framed, not what it is about (a policy document never says "policy" or "help me
# see"); the last: which thing is asked about, which does not change the policy ("can I return trousers I've washed"
# asks about washing).

# Irregular forms the Porter2 stemmer keeps apart (delivered → "deliv" but delivery → "deliveri"); mapped first.
IRREGULAR = {
    "deliver": "deliver", "delivery": "deliver", "deliveries": "deliver", "delivered": "deliver",
    "delivering": "deliver", "delivers": "deliver", "arrive": "deliver", "arrived": "deliver", "arrives": "deliver",
    "arriving": "deliver", "arrival": "deliver", "paid": "pay", "worn": "wear", "bought": "buy", "sent": "send",
    "postage": "ship", "shipment": "ship", "shipments": "ship", "dispatch": "ship", "dispatched": "ship",
    "cancellation": "cancel", "cancelled": "cancel", "canceled": "cancel", "reimbursement": "refund",
    "reimburse": "refund", "reimbursed": "refund", "colour": "color", "colours": "color", "exchange": "swap",
    "exchanges": "swap", "exchanged": "swap", "exchanging": "swap", "swap": "swap", "swapped": "swap",
    "rebate": "refund", "rebates": "refund", "restitution": "refund", "compensation": "refund",
    "compensations": "refund", "reimbursements": "refund", "refunding": "refund", "parcel": "parcel",
    "parcels": "parcel", "package": "parcel", "packages": "parcel",
    "pick": "choos", "select": "choos",  # "choosing" stems to choos
    "bigger": "larger", "big": "larger", "smaller": "small",
    "week": "day", "weeks": "day", "month": "day", "months": "day", "fortnight": "day",
    "courier": "courier", "couriers": "courier", "carrier": "courier", "carriers": "courier",
    "person": "human", "humans": "human", "someone": "human",
}
# Alternatives a question's term may be found as (query side only): "deliver to France" is answered by "we ship to".
ALTERNATIVES = {"deliver": ("ship",), "ship": ("deliver",), "swap": ("return",), "larger": ("size",),
                "eu": ("abroad",), "usa": ("abroad",)}
# Question words that only add to a passage's score, never to what must be found: "when do you take the payment"
# is answered under "When you are charged".
BONUS_WORDS = ("when",)
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
    (re.compile(r"\b(?:send|sent|give|gave|bring|take|post) (?:\w+ )?back\b"), " return "),
    (re.compile(r"\bnext[ -]day\b|\bovernight\b"), " express "),
    # the ways to ship are the delivery services a policy names, not "methods" (which are payment methods)
    (re.compile(r"\b(?:shipping|delivery|shipment|postage|courier) (?:methods?|options?|services?|types?|speeds?)\b"
                r"|\b(?:methods?|options?|types?) (?:of|for) (?:shipping|delivery|shipment)\b"), " delivery express "),
    # a cut-off is the time before which orders are dispatched ("ordered before 2pm … dispatched the same day")
    (re.compile(r"\bcut[ -]?offs?(?: times?)?\b|\bdeadlines?\b"), " dispatch time "),
    # a duration asked about is compared with the policy's in days: the number itself rarely matches ("3 weeks ago")
    (re.compile(r"\b\d+\s*(?:days?|weeks?|months?)\b"), " day "),
    (re.compile(r"\boutside (?:of )?the uk\b|\bnon[ -]uk\b|\babroad\b|\boverseas\b|\binternational(?:ly)?\b"),
     " abroad "),
    (re.compile(r"\b(?:take|takes|taken|took|taking) (?:the |my |your )?payment\b"
                r"|\bpayment (?:is|was|will be|gets) taken\b"), " payment charge "),
    (re.compile(r"\b(?:delivery|shipping|postal|parcel) (?:company|companies|service|firm)\b"), " courier "),
    # carriers named in a policy are couriers ("UK parcels travel with Royal Mail or DPD" answers "which courier")
    (re.compile(r"\b(?:royal mail|parcelforce|dpd|dhl|ups|fedex|evri|hermes|gls|usps|yodel)\b"), r" \g<0> courier "),
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
        # a section's own heading, not the document's title ("Refunds", not "Returns and refunds > Refunds")
        self._heading_terms = [frozenset(terms(p.headings[-1] if p.headings else "")) for p in self.passages]
        self._sentence_terms = [[frozenset(terms(s)) for block in p.text.split("\n") for s in _sentences(block)]
                                for p in self.passages]
        self._document_words = [w for p in self.passages for w in content_words(" ".join(p.headings) + " " + p.text)]
        self._mender = Normaliser(self._document_words, min_target_count=1)
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

    def protect(self, words: Iterable[str]) -> None:
        """Words the search must not take for typos of the documents' words (a wider English vocabulary: without
        it "black holes" would be read as "back holds")."""
        self._mender = Normaliser(self._document_words, min_target_count=1, known=words)

    # -- retrieval

    def _query(self, question: str) -> dict[str, tuple[float, frozenset[str]]]:
        """Each term of the question with its idf weight and the forms it may be found as (itself and its
        ``ALTERNATIVES`` the documents use); misspelt words are first mended against the documents' words."""
        query: dict[str, tuple[float, frozenset[str]]] = {}
        for word in content_words(question)[:MAX_QUERY_WORDS]:
            term = _stem(word)
            if term not in self._idf and len(word) >= TYPO_MIN_LENGTH and word.isalpha():
                term = _stem(self._mender.mend(word))
            forms = frozenset(f for f in (term, *ALTERNATIVES.get(term, ())) if f in self._idf) or frozenset({term})
            weight = max(self._idf.get(f, self._idf_unknown) for f in forms)
            query[term] = (weight, forms)
        return query

    def _weights(self, question: str) -> dict[str, float]:
        """Idf weight of each term of the question (its alternatives count as the term itself)."""
        return {form: weight for weight, forms in self._query(question).values() for form in forms}

    @staticmethod
    def _cover(query: Mapping[str, tuple[float, frozenset[str]]], found: set[str] | frozenset[str]) -> float:
        total = sum(weight for weight, _ in query.values())
        return sum(weight for weight, forms in query.values() if forms & found) / total if total else 0.0

    def _focus(self, query: Mapping[str, tuple[float, frozenset[str]]], index: int) -> float:
        """The share of the question's weight found in one sentence of the passage (with its heading): a
        passage that answers the question says it in one place, one that merely shares its words scatters them."""
        return max((self._cover(query, self._heading_terms[index] | sentence)
                    for sentence in self._sentence_terms[index]), default=0.0)

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The best passages for a question, best first; empty when none passes the thresholds."""
        query = self._query(question)
        if self._retriever is None or not query or k <= 0:
            return []
        known = sorted({f for _, forms in query.values() for f in forms if f in self._idf})
        if not known:
            return []
        lowered = question.lower()
        known += [w for w in BONUS_WORDS if w in self._idf and w not in known and re.search(rf"\b{w}\b", lowered)]
        scores = np.asarray(self._retriever.get_scores(known), dtype=np.float64)
        ranked: list[tuple[float, Hit]] = []
        for i in np.argsort(-scores, kind="stable")[: max(k * 4, 8)]:
            score = float(scores[i])
            if score < self.min_score * self._idf_unknown:
                break
            coverage = self._cover(query, self._terms[i])
            if coverage >= self.min_coverage:
                heading = self._cover(query, self._heading_terms[int(i)])
                focus = self._focus(query, int(i))
                if focus + heading <= MIN_FOCUS:
                    continue
                rank = score * (FOCUS_BASE + focus + heading)
                ranked.append((rank, Hit(self.passages[int(i)], round(rank, 4), round(coverage, 4))))
        if not ranked:
            return []
        ranked.sort(key=lambda x: -x[0])
        best = ranked[0][0]
        return [hit for rank, hit in ranked if rank >= self.relative * best][:k]

    def _close_call(self, question: str, best: Hit, runner_up: Hit) -> bool:
        """The runner-up ranks almost as high and is as specific: it has the question's rarest word the best
        passage has ("are swimwear returns accepted": only one passage names swimwear)."""
        if runner_up.score < AMBIGUOUS * best.score:
            return False
        query = self._query(question)
        found = [(weight, forms) for weight, forms in query.values()
                 if forms & self._terms[best.passage.index]]
        rarest = max(found, key=lambda x: x[0], default=None)
        if rarest is None:
            return True
        weight, forms = rarest
        top_weight = max((w for w, f in query.values() if any(t in self._idf for t in f)), default=0.0)
        return bool(forms & self._terms[runner_up.passage.index]) or weight < top_weight

    def answer(self, question: str, max_sentences: int = 2) -> PolicyAnswer | None:
        """The sentences of the best passage that share most weight with the question (extractive), or None when
        two passages answer it about equally well (a handover is better than the wrong one of the two)."""
        hits = self.search(question, k=2)
        if not hits or (len(hits) > 1 and self._close_call(question, hits[0], hits[1])):
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
