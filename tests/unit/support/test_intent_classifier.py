"""The shipped intent classifier on hand-picked messages (typos, other languages, out of scope), its determinism,
and that odd input never crashes it. None of these messages is a training example verbatim."""

from __future__ import annotations

import pytest

from backroom.support.nlu import IN_SCOPE_INTENTS, Intent, IntentClassifier, normalize
from backroom.support.nlu.classifier import load_examples

HAND_PICKED: list[tuple[str, Intent]] = [
    ("hi where is my order 48213?", Intent.ORDER_STATUS),
    ("wheres my pakage, ordred 2 weeks ago", Intent.ORDER_STATUS),
    ("my parcel says delivered but it's not here", Intent.ORDER_STATUS),
    ("I want to cancle order #10234", Intent.CANCEL_ORDER),
    ("pls cancel my order, email is tom@example.org", Intent.CANCEL_ORDER),
    ("I'd like to send back the jeans, they're too big", Intent.START_RETURN),
    ("can I exchange for a smaller size?", Intent.START_RETURN),
    ("My refund for order 5521 still hasn't arrived!!", Intent.REFUND_STATUS),
    ("Do you have the linen shirt in XL?", Intent.PRODUCT_AVAILABILITY),
    ("is the blue hoodie back in stock soon?", Intent.PRODUCT_AVAILABILITY),
    ("Is the backpack waterproof?", Intent.PRODUCT_INFO),
    ("Do you ship to Switzerland?", Intent.POLICY_QUESTION),
    ("can I pay with PayPal?", Intent.POLICY_QUESTION),
    ("how long does shipping to Austria take", Intent.POLICY_QUESTION),
    ("I need to change the delivery address on order 7781", Intent.CHANGE_ADDRESS),
    ("I want to speak to a real person", Intent.HUMAN_AGENT),
    ("This is the third time I write, your service is terrible!", Intent.COMPLAINT),
    ("I was charged twice", Intent.PAYMENT_ISSUE),
    ("I need an invoice for my company", Intent.INVOICE),
    ("unsubscribe me", Intent.NEWSLETTER),
    ("I forgot my password", Intent.ACCOUNT),
    ("hello", Intent.GREETING),
    ("thanks a lot!", Intent.THANKS),
    ("yes please", Intent.AFFIRM),
    ("no thanks", Intent.DENY),
    ("bye", Intent.GOODBYE),
    # other languages
    ("Wo ist meine Bestellung 12345?", Intent.ORDER_STATUS),
    ("Meine Sendung ist immer noch nicht da", Intent.ORDER_STATUS),
    ("Je veux annuler ma commande", Intent.CANCEL_ORDER),
    ("Quiero devolver estos zapatos", Intent.START_RETURN),
]

OUT_OF_SCOPE = [
    "what's the weather in Paris tomorrow",
    "tell me a joke",
    "give me a recipe for lasagna",
    "book me a flight to Rome",
    "how do I reset my online banking password",
]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.default()


@pytest.mark.parametrize(("message", "expected"), HAND_PICKED)
def test_hand_picked_message_gets_its_intent_in_scope(
    classifier: IntentClassifier, message: str, expected: Intent
) -> None:
    result = classifier.classify(message)
    assert (result.intent, result.in_scope) == (expected, True)
    assert result.confidence >= classifier.threshold
    assert result.ranked[0].intent is expected


@pytest.mark.parametrize("message", OUT_OF_SCOPE)
def test_out_of_scope_message_escalates(classifier: IntentClassifier, message: str) -> None:
    result = classifier.classify(message)
    assert result.intent is Intent.OUT_OF_SCOPE
    assert not result.in_scope
    assert not result.low_confidence


def test_classification_ranks_three_intents_best_first(classifier: IntentClassifier) -> None:
    result = classifier.classify("where is my parcel")
    scores = [s.score for s in result.ranked]
    assert len(result.ranked) == 3
    assert scores == sorted(scores, reverse=True)
    assert len({s.intent for s in result.ranked}) == 3
    assert result.confidence == result.ranked[0].score


def test_below_threshold_is_low_confidence_not_in_scope(classifier: IntentClassifier) -> None:
    result = classifier.classify("where is my parcel", threshold=1.01)
    assert result.intent is Intent.ORDER_STATUS
    assert not result.in_scope
    assert result.low_confidence


def test_training_is_deterministic() -> None:
    examples = load_examples()
    texts = [t for t, _ in examples]
    labels = [i for _, i in examples]
    first = IntentClassifier(texts, labels)
    second = IntentClassifier(texts, labels)
    probe = [m for m, _ in HAND_PICKED] + OUT_OF_SCOPE
    classes_a, probs_a = first.probabilities(probe)
    classes_b, probs_b = second.probabilities(probe)
    assert classes_a == classes_b
    assert (probs_a == probs_b).all()


def test_default_classifier_is_built_once() -> None:
    assert IntentClassifier.default() is IntentClassifier.default()


@pytest.mark.parametrize(
    "message",
    ["", "   ", "\n\t", "😀😀😀", "🙈", "?!?!", "12345", "x" * 10_000, "where is my order " * 600, "\x00\ufffd"],
)
def test_odd_input_does_not_crash(classifier: IntentClassifier, message: str) -> None:
    result = classifier.classify(message)
    assert 0.0 <= result.confidence <= 1.0
    assert result.intent in set(Intent)
    assert result.ranked


def test_empty_and_emoji_only_escalate(classifier: IntentClassifier) -> None:
    for message in ("", "😀😀😀", "   "):
        result = classifier.classify(message)
        assert (result.intent, result.in_scope, result.confidence) == (Intent.OUT_OF_SCOPE, False, 0.0)


def test_normalize_replaces_numbers_emails_and_amounts() -> None:
    assert normalize("Où est ma commande #45122? Mail: A.B@x.com") == "ou est ma commande numtok ? mail emailtok"
    assert normalize("refund of $350 or 20 euros") == "refund of moneytok or moneytok"
    assert normalize("order 10482") == normalize("ORDER 99871")


def test_every_intent_has_examples_and_values_are_snake_names() -> None:
    examples = load_examples()
    counts = {intent: sum(1 for _, i in examples if i is intent) for intent in Intent}
    assert all(n >= 15 for n in counts.values()), counts
    assert all(intent.value == intent.name.lower() for intent in Intent)
    assert Intent.OUT_OF_SCOPE not in IN_SCOPE_INTENTS
    assert len({t.lower() for t, _ in examples}) == len(examples), "duplicate training examples"
