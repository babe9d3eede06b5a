"""The language layer the agent runs on: the intent classifier (nlu/) and the entity extractor (entities.py) made
into one Understanding per message, and the store's policy documents (knowledge.py) made into cited answers.

Both read the message as normalise.py leaves it (shorthand spelt out, typos mended, German/French/Spanish glossed
into English); the entities (order numbers, e-mails, postal codes, products, yes/no) are taken from the customer's
own words. A message the classifier is unsure of as a whole but that asks several questions is read question by
question, the first clear one leading."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from backroom.support.model import Citation, Understanding
from backroom.support.questions import split_clauses

if TYPE_CHECKING:  # scikit-learn, bm25s and scipy load with the first message, not with every command
    from backroom.support.knowledge import PolicyLibrary
    from backroom.support.nlu import IntentClassifier
    from backroom.support.normalise import Normaliser

#: a second intent in the same message counts when the model gives it at least this much ("where is my order and
#: how do returns work")
SECOND_INTENT_FLOOR = 0.25
#: a message the classifier is less sure of than this, as a whole, is read question by question: "order #1001 - has it
#: shipped? And if I return one item, how long does the refund take?" is two clear questions, not one unclear one
CLAUSE_CONFIDENCE = 0.5
#: a policy section this short is answered whole rather than as its best sentences
WHOLE_PASSAGE_WORDS = 90


class ClassifierInterpreter:
    """The shipped interpreter: the team-trained classifier (trained on first use, once per process)."""

    def __init__(self, classifier: IntentClassifier | None = None) -> None:
        self._classifier = classifier

    @property
    def classifier(self) -> IntentClassifier:
        if self._classifier is None:
            from backroom.support.nlu import IntentClassifier

            self._classifier = IntentClassifier.default()
        return self._classifier

    def understand(self, text: str, catalog: Sequence[str]) -> Understanding:
        from backroom.support.entities import extract, is_affirmative, is_negative
        from backroom.support.normalise import default_normaliser

        normalised = default_normaliser().extended(catalog).normalise(text)
        c = self.classifier.classify(normalised)
        e = extract(text, catalog_names=list(catalog) if catalog else None)
        intent, confidence, in_scope = str(c.intent), c.confidence, c.in_scope
        others = tuple(str(s.intent) for s in c.ranked[1:2]
                       if s.score >= SECOND_INTENT_FLOOR and str(s.intent) not in ("out_of_scope", intent))
        if in_scope and confidence < CLAUSE_CONFIDENCE:
            clear = self._clear_questions(normalised, confidence)
            if clear:
                (intent, confidence), others = clear[0], tuple(dict.fromkeys(
                    i for i, _ in clear[1:] if i != clear[0][0]))
        affirmative = (is_affirmative(text) or intent == "affirm") and intent != "deny"
        negative = is_negative(text) or intent == "deny"
        return Understanding(intent, confidence, in_scope, e.order_numbers, e.emails, e.postal_codes,
                             tuple(name for name, _ in e.products), affirmative, negative, others, normalised)

    def _clear_questions(self, normalised: str, whole: float) -> list[tuple[str, float]]:
        """The intents of the message's questions that the classifier is clearly surer of than of the whole,
        in the message's order; empty for a single question."""
        parts = split_clauses(normalised)
        if len(parts) < 2:
            return []
        found = []
        for part in parts:
            c = self.classifier.classify(part)
            if c.in_scope and c.confidence >= max(CLAUSE_CONFIDENCE, whole):
                found.append((str(c.intent), c.confidence))
        return found


class LibraryAnswers:
    """Answers from the store's policy documents, each with the file and heading it came from."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._library: PolicyLibrary | None = None
        self._normaliser: Normaliser | None = None
        self._lock = threading.Lock()

    @property
    def library(self) -> PolicyLibrary:
        with self._lock:
            if self._library is None:
                from backroom.support.knowledge import PolicyLibrary
                from backroom.support.normalise import default_normaliser

                library = (PolicyLibrary.from_folder(self.folder) if self.folder is not None
                           else PolicyLibrary.bundled())
                library.protect(default_normaliser().vocabulary)
                self._library = library
            return self._library

    @property
    def normaliser(self) -> Normaliser:
        """The shared normaliser, knowing the words of these policies too (a store's own documents)."""
        library = self.library
        with self._lock:
            if self._normaliser is None:
                from backroom.support.normalise import default_normaliser

                self._normaliser = default_normaliser().extended(
                    [" ".join(p.headings) + " " + p.text for p in library.passages])
            return self._normaliser

    def answer(self, question: str) -> tuple[str, Citation] | None:
        found = self.library.answer(self.normaliser.normalise(question), max_sentences=3)
        if found is None:
            return None
        whole = " ".join(found.passage.text.split())
        # a short section is said whole: the sentence with the asked-for fact (the price, the days) is not left out
        text = whole if len(whole.split()) <= WHOLE_PASSAGE_WORDS else found.text
        return text, Citation(found.file, found.heading)
