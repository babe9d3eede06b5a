"""The language layer the agent runs on: the intent classifier (nlu/) and the entity extractor (entities.py) made
into one Understanding per message, and the store's policy documents (knowledge.py) made into cited answers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from backroom.support.model import Citation, Understanding

if TYPE_CHECKING:  # scikit-learn, bm25s and scipy load with the first message, not with every command
    from backroom.support.knowledge import PolicyLibrary
    from backroom.support.nlu import IntentClassifier

#: a second intent in the same message counts when the model gives it at least this much ("where is my order and
#: how do returns work")
SECOND_INTENT_FLOOR = 0.25
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

        c = self.classifier.classify(text)
        e = extract(text, catalog_names=list(catalog) if catalog else None)
        intent = str(c.intent)
        affirmative = (is_affirmative(text) or intent == "affirm") and intent != "deny"
        negative = is_negative(text) or intent == "deny"
        others = tuple(str(s.intent) for s in c.ranked[1:2]
                       if s.score >= SECOND_INTENT_FLOOR and str(s.intent) not in ("out_of_scope", intent))
        return Understanding(intent, c.confidence, c.in_scope, e.order_numbers, e.emails, e.postal_codes,
                             tuple(name for name, _ in e.products), affirmative, negative, others)


class LibraryAnswers:
    """Answers from the store's policy documents, each with the file and heading it came from."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._library: PolicyLibrary | None = None
        self._lock = threading.Lock()

    @property
    def library(self) -> PolicyLibrary:
        with self._lock:
            if self._library is None:
                from backroom.support.knowledge import PolicyLibrary

                self._library = (PolicyLibrary.from_folder(self.folder) if self.folder is not None
                                 else PolicyLibrary.bundled())
            return self._library

    def answer(self, question: str) -> tuple[str, Citation] | None:
        found = self.library.answer(question, max_sentences=3)
        if found is None:
            return None
        whole = " ".join(found.passage.text.split())
        # a short section is said whole: the sentence with the asked-for fact (the price, the days) is not left out
        text = whole if len(whole.split()) <= WHOLE_PASSAGE_WORDS else found.text
        return text, Citation(found.file, found.heading)
