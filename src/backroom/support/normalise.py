"""Customer messages made plainer before the classifier and the policy search read them: chat shorthand spelt out,
misspelt words mended against the store's own words, and German, French or Spanish messages glossed into English.

- Shorthand: ``u`` → you, ``pls`` → please, ``wat`` → what … (``SHORTHAND``).
- Typos: a word of at least ``MIN_MEND_LENGTH`` letters that the vocabulary does not know (nor a word with the same
  Porter2 stem) is replaced by the vocabulary word one Damerau–Levenshtein edit away (``canel`` → cancel,
  ``paymnet`` → payment, ``stok`` → stock) when that word starts with the same letter, the edit is a slip typing makes
  (a letter left out, two swapped, a neighbouring key: ``typing_slip``), and it is the only such word or clearly the
  most common. The vocabulary is the words of the classifier's training examples, of the policy documents and of the
  catalog names (the text the models know). There is no English word list here, so a real word the vocabulary lacks
  can be mended too ("dose" → does, which is what a customer writing it meant; "drown" → down, which is not): the
  typing-slip and first-letter rules keep that rare (on Bitext's and CLINC150's test messages, most of the 80
  words mended are customers' typos), and English function words are never mended.
- Other languages: a message whose words are mostly German, French or Spanish (function words and lexicon words,
  against English function words) is glossed word by word, longest phrase first, with the lexicons in
  ``nlu/lexicon/<language>.txt`` (support vocabulary, a few hundred entries). A gloss, not a translation: the result
  is for the classifier and the search; the customer's own words are kept for the entities, and replies stay English.

Everything is built once per vocabulary and cached; normalising a message costs well under a millisecond.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

__all__ = ["LANGUAGES", "SHORTHAND", "Lexicon", "Normaliser", "default_normaliser", "detect_language", "fold", "gloss",
           "lexicon", "typing_slip"]

MIN_MEND_LENGTH = 4  # shorter words have too many neighbours one edit away ("form", "from", "for")
SHORT_WORD = 4  # a word this short is only mended by adding a letter or swapping two ("stok", "dose"): its
#                 substitutes are mostly other real words ("well" → will, "hope" → nope)
MIN_TARGET_COUNT = 2  # a word seen once in the vocabulary is not trusted as a correction ("present" → prevent)
RARE = 3  # a known word seen at most this often may itself be a typo in the examples ("retrun", "arive") …
TYPO_MARGIN = 10  # … when adding or swapping letters makes a word seen this many times more often
CATALOG_WEIGHT = 5  # a catalog word counts as this many sightings: customers ask about the products by name
CLEAR_MARGIN = 3  # a mended word's count in the vocabulary must be this many times the runner-up's
MAX_CACHED = 50_000  # mended words remembered per vocabulary
MAX_PHRASE = 5  # words in the longest lexicon phrase
LANGUAGES = ("de", "fr", "es")

SHORTHAND: Mapping[str, str] = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "plez": "please", "thx": "thanks",
    "thnx": "thanks", "thanx": "thanks", "tx": "thanks", "ty": "thank you", "tysm": "thank you", "wat": "what",
    "wot": "what", "wut": "what", "wen": "when", "wil": "will", "hw": "how", "cn": "can", "abt": "about",
    "tmrw": "tomorrow", "tmr": "tomorrow", "asap": "soon",
    "bc": "because", "cuz": "because", "coz": "because", "pkg": "package", "addr": "address", "acct": "account",
    "pwd": "password", "nvm": "never mind", "idk": "i do not know", "dunno": "do not know", "k": "ok", "kk": "ok",
    "yep": "yes", "yup": "yes", "ya": "yes", "yea": "yes", "nope": "no", "hv": "have", "wud": "would",
    "cud": "could", "shud": "should", "gonna": "going to", "wanna": "want to", "gimme": "give me",
    "lemme": "let me", "msg": "message", "nr": "number", "num": "number", "im": "i am", "ive": "i have",
    "dont": "do not", "doesnt": "does not", "cant": "cannot", "wont": "will not", "didnt": "did not",
    "isnt": "is not", "havent": "have not", "whats": "what is", "wheres": "where is", "hows": "how is",
    "ppl": "people", "info": "information", "rly": "really", "sry": "sorry", "srry": "sorry",
}

#: English function words: what an English message is made of, whatever it asks
ENGLISH = frozenset(re.findall(r"\w+", """
a about after all also am an and any are as at be been but by can could did do does for from get got had has have
having he her his how i if in is it its just me my no not of on or our please she should so some than that the their
them then there they this to too up us was we were what when where which who why will with would you your while
three these those thing think
"""))

# e-mails, links and anything with a digit ("#1005", "SW1A 2AA") pass through a gloss untouched
_PROTECTED = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+|#?[^\W_]*\d[\w-]*")
_TOKEN = re.compile(_PROTECTED.pattern + r"|[^\W_]+(?:['’][^\W_]+)?")
_LETTERS = re.compile(r"[a-z]+")
_ELISION = re.compile(r"^([a-z]{1,2})['’]([a-z]+)$")  # French j'ai, l'article, qu'il
_STEMMER = Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents (``Größe`` → ``grosse``, ``envío`` → ``envio``), for matching only."""
    lowered = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))


# ------------------------------------------------------------------------------------------------ other languages


@dataclass(frozen=True)
class Lexicon:
    """One language's gloss: phrases (tuples of folded words) to English, and its single words for detection."""

    language: str
    phrases: Mapping[tuple[str, ...], str]

    @property
    def words(self) -> frozenset[str]:
        """Every word of the lexicon's entries: what a message in the language is made of."""
        return frozenset(word for key in self.phrases for word in key)


@cache
def lexicon(language: str) -> Lexicon:
    """``nlu/lexicon/<language>.txt``: ``foreign words = English words`` lines, ``#`` comments."""
    source = resources.files("backroom.support").joinpath("nlu", "lexicon", f"{language}.txt")  # no scikit-learn import
    phrases: dict[tuple[str, ...], str] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        foreign, english = line.split("=", 1)
        key = tuple(_words(foreign))
        if key:
            phrases[key] = " ".join(english.split())
    return Lexicon(language, phrases)


def _words(text: str) -> list[str]:
    """Folded words; elisions split (``j'hésite`` → ``j``, ``hesite``), other apostrophes dropped (``don't``)."""
    words: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text)):
        if _PROTECTED.fullmatch(token):
            words.append(token)
            continue
        token = fold(token)
        elided = _ELISION.match(token.replace("’", "'"))
        if elided and elided.group(1) in ("j", "l", "d", "qu", "n", "s", "m", "t", "c"):
            words.extend(elided.groups())
        else:
            words.append(re.sub(r"['’]", "", token))
    return words


def detect_language(text: str) -> str:
    """``de``, ``fr`` or ``es`` when more of the message's words are that language's lexicon words than English
    function words (at least two, or one in a message of at most two words); otherwise ``en``."""
    words = [w for w in _words(text) if not _PROTECTED.fullmatch(w)]
    english = sum(w in ENGLISH for w in words)
    best, best_score = "en", (0, 0)
    for language in LANGUAGES:
        known = _detecting(language)
        others = frozenset().union(*(_detecting(o) for o in LANGUAGES if o != language))
        # ties (French and Spanish share "la", "en", "de") go to the language with more words of its own
        score = (sum(w in known for w in words), sum(w in known and w not in others for w in words))
        if score > best_score:
            best, best_score = language, score
    count = best_score[0]
    enough = count >= 2 or (count == 1 and len(words) <= 2)
    return best if enough and count > english else "en"


@cache
def _detecting(language: str) -> frozenset[str]:
    return lexicon(language).words - ENGLISH


def gloss(text: str, language: str) -> str:
    """The message word by word in English (longest lexicon phrase first); words the lexicon lacks are kept."""
    phrases = lexicon(language).phrases
    words = _words(text)
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(MAX_PHRASE, len(words) - i), 0, -1):
            english = phrases.get(tuple(words[i:i + size]))
            if english is not None:
                out.append(english)
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(w for w in out if w)


# ------------------------------------------------------------------------------------------------ English


@cache
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _adjacent(a: str, b: str) -> bool:
    """Neighbouring keys on a QWERTY keyboard: beside it, or touching it in the row above or below (each row sits
    half a key to the right of the one above: "e" touches "s" and "d" below it, "d" touches "e" and "r" above)."""
    if a not in _KEY or b not in _KEY:
        return False
    (ra, ia), (rb, ib) = _KEY[a], _KEY[b]
    if ra == rb:
        return abs(ia - ib) == 1
    if rb == ra + 1:
        return ib in (ia - 1, ia)
    return rb == ra - 1 and ib in (ia, ia + 1)


def typing_slip(typed: str, meant: str) -> bool:
    """Whether ``typed`` is ``meant`` with one slip of the kind typing makes: a letter left out, two letters swapped,
    a neighbouring key hit instead, or a letter doubled or a neighbouring key hit as well. A change to an unrelated
    letter is more often another word ("white" is no typo of "write", "peace" none of "place")."""
    if len(typed) < len(meant):
        return True  # a letter left out
    if len(typed) > len(meant):
        extra = next((i for i in range(len(meant)) if typed[i] != meant[i]), len(meant))
        neighbours = [typed[j] for j in (extra - 1, extra + 1) if 0 <= j < len(typed)]
        return any(n == typed[extra] or _adjacent(n, typed[extra]) for n in neighbours)
    diff = [i for i in range(len(typed)) if typed[i] != meant[i]]
    if len(diff) == 2:
        return True  # two letters swapped
    return len(diff) == 1 and _adjacent(typed[diff[0]], meant[diff[0]])


class Normaliser:
    """Shorthand, typo mending and glossing over one vocabulary (see the module's doc)."""

    def __init__(self, words: Iterable[str], *, min_target_count: int = MIN_TARGET_COUNT,
                 known: Iterable[str] = ()) -> None:
        """``words``: the vocabulary, with repeats (a word's count decides between candidates); ``known``: more
        words that are never mended but are no corrections either (a wider vocabulary than the targets)."""
        self.min_target_count = min_target_count
        self._counts: Counter[str] = Counter(w for w in words if w.isalpha())
        self._known = frozenset(known)
        self._stems = frozenset(_stem(w) for w in (*self._counts, *self._known))
        self._by_length: dict[int, list[str]] = {}
        for word in self._counts:
            self._by_length.setdefault(len(word), []).append(word)
        self._mended: dict[str, str] = {}
        self._extended: dict[frozenset[str], Normaliser] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Normaliser:
        return cls(w for text in texts for w in _LETTERS.findall(fold(text)))

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self._counts) | self._known

    def knows(self, word: str) -> bool:
        return word in self._counts or word in self._known or _stem(word) in self._stems

    def extended(self, texts: Iterable[str]) -> Normaliser:
        """This vocabulary plus the words of ``texts`` (a store's catalog names); cached per set of texts."""
        key = frozenset(texts)
        if not key:
            return self
        with self._lock:
            found = self._extended.get(key)
            if found is None:
                if len(self._extended) >= 64:
                    self._extended.clear()
                extra = [w for text in key for w in _LETTERS.findall(fold(text))] * CATALOG_WEIGHT
                found = self._extended[key] = Normaliser([*self._counts.elements(), *extra],
                                                         min_target_count=self.min_target_count, known=self._known)
            return found

    def mend(self, word: str) -> str:
        """The vocabulary word ``word`` was clearly meant to be, or ``word`` itself."""
        if len(word) < MIN_MEND_LENGTH or not word.isalpha() or word in ENGLISH:
            return word
        rare = 0 < self._counts[word] <= RARE
        if self.knows(word) and not rare:
            return word
        found = self._mended.get(word)
        if found is None:
            found = self._typo_in_examples(word) if rare else self._closest(word)
            if len(self._mended) < MAX_CACHED:
                self._mended[word] = found
        return found

    def _typo_in_examples(self, word: str) -> str:
        """A rare word of the vocabulary that is a far commoner word with a letter left out or two letters swapped
        ("retrun", "arive": customers' typos kept in the examples); never a change of letter ("hell" stays)."""
        choices = [w for n in (len(word), len(word) + 1) for w in self._by_length.get(n, ())]
        near = [w for w, _, _ in process.extract(word, choices, scorer=DamerauLevenshtein.distance, score_cutoff=1,
                                                 limit=None)
                if w != word and w[0] == word[0] and (len(w) > len(word) or sorted(w) == sorted(word))
                and self._counts[w] >= TYPO_MARGIN * self._counts[word]]
        return max(near, key=lambda w: (self._counts[w], w)) if near else word

    def _closest(self, word: str) -> str:
        choices = [w for n in (len(word) - 1, len(word), len(word) + 1) for w in self._by_length.get(n, ())]
        near = [w for w, _, _ in process.extract(word, choices, scorer=DamerauLevenshtein.distance, score_cutoff=1,
                                                 limit=None)
                if self._counts[w] >= self.min_target_count and w[0] == word[0] and typing_slip(word, w)
                and (len(word) > SHORT_WORD or len(w) > len(word) or sorted(w) == sorted(word))]
        candidates = sorted(near, key=lambda w: (-self._counts[w], w))
        if not candidates:
            return word
        if len(candidates) == 1 or self._counts[candidates[0]] >= CLEAR_MARGIN * self._counts[candidates[1]]:
            return candidates[0]
        return word

    def english(self, text: str) -> str:
        """Shorthand spelt out and typos mended; case, numbers, e-mails and punctuation kept."""

        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            lowered = fold(token)
            if lowered in SHORTHAND:
                return SHORTHAND[lowered]
            if token.isupper() and len(token) > 1:  # an acronym or a code, not a typo
                return token
            if token[0].isupper() and match.start() > 0:  # a name ("Harry"), or a sentence's first word
                return token
            mended = self.mend(lowered)
            return token if mended == lowered else mended

        return re.sub(r"(?<![@.\w])[^\W\d_]+(?![@\w]|\.\w)", replace, text)

    def normalise(self, text: str) -> str:
        """The message as plain English for the classifier and the search (see the module's doc)."""
        language = detect_language(text)
        if language != "en":
            return gloss(text, language)
        return self.english(text)


@cache
def _base_texts() -> tuple[str, ...]:
    """The classifier's examples (read as text: scikit-learn is not needed for them), the bundled policies, and the
    English of the lexicons and of the shorthand."""
    support = resources.files("backroom.support")
    examples = [line for f in support.joinpath("nlu", "examples").iterdir() if f.name.endswith(".txt")
                for line in f.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    documents = [f.read_text(encoding="utf-8") for f in support.joinpath("policies").iterdir()
                 if f.name.endswith(".md")]
    glosses = [english for language in LANGUAGES for english in lexicon(language).phrases.values()]
    return (*examples, *documents, *glosses, *SHORTHAND.values())


_default: Normaliser | None = None
_default_lock = threading.Lock()


def default_normaliser() -> Normaliser:
    """The normaliser over the classifier's examples, the bundled policies and the lexicons' English (built once)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Normaliser.from_texts(_base_texts())
        return _default
