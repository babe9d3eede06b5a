"""The language layer over normalised messages: the classifier reads the gloss or the mended text, the entities the
customer's own words, and the policy answers come from the normalised question."""

from __future__ import annotations

import pytest

from backroom.support.model import Citation
from backroom.support.understanding import ClassifierInterpreter, LibraryAnswers

CATALOG = ("Linen Shirt", "Merino Jumper", "Denim Jacket")


@pytest.fixture(scope="module")
def interpreter() -> ClassifierInterpreter:
    return ClassifierInterpreter()


@pytest.fixture(scope="module")
def answers() -> LibraryAnswers:
    return LibraryAnswers()


def test_a_german_message_is_classified_from_its_gloss_with_entities_from_its_own_words(
        interpreter: ClassifierInterpreter) -> None:
    u = interpreter.understand("Hallo, wo ist meine Bestellung #1005? Meine E-Mail ist eva.schmidt@example.de",
                               CATALOG)
    assert (u.intent, u.in_scope, u.order_numbers, u.emails) == (
        "order_status", True, ("1005",), ("eva.schmidt@example.de",))


def test_a_misspelt_cancellation_is_understood_as_one(interpreter: ClassifierInterpreter) -> None:
    u = interpreter.understand("canel my order #1001 SW1A2AA", CATALOG)
    assert (u.intent, u.order_numbers, u.postal_codes) == ("cancel_order", ("1001",), ("SW1A 2AA",))


def test_a_misspelt_product_is_found_in_the_catalog(interpreter: ClassifierInterpreter) -> None:
    u = interpreter.understand("is the merino jumpr in stok?", CATALOG)
    assert (u.intent, u.in_scope, u.products) == ("product_availability", True, ("Merino Jumper",))


@pytest.mark.parametrize(("question", "fact", "heading"), [
    ("Wie lange habe ich Zeit, um einen Artikel zurückzuschicken?", "within 30 days", "Returns window"),
    ("Kann ich mit PayPal bezahlen?", "PayPal", "Payment methods we accept"),
    ("Livrez-vous en France ? Combien coûte la livraison ?", "£9.95", "Delivery costs"),
    ("¿Cuánto tarda el envío a España?", "5–8 working days", "Delivery times"),
    ("wat paymnet methods do u acept", "PayPal", "Payment methods we accept"),
    ("how long dose a refnd take", "5–10 business days", "Refunds"),
    ("do u ship to germny", "European Union", "Countries we ship to"),
])
def test_policy_answers_come_from_the_normalised_question(answers: LibraryAnswers, question: str, fact: str,
                                                           heading: str) -> None:
    found = answers.answer(question)
    assert found is not None, question
    text, citation = found
    assert fact in text
    assert citation.heading.endswith(f" > {heading}")
    assert isinstance(citation, Citation)


def test_unrelated_questions_still_get_no_policy_answer(answers: LibraryAnswers) -> None:
    for question in ("What's the weather going to be like in London tomorrow?", "tell me a joke",
                     "where do black holes come from", "Wie wird das Wetter morgen?"):
        assert answers.answer(question) is None, question


def test_an_unclear_message_of_several_questions_is_read_question_by_question(
        interpreter: ClassifierInterpreter) -> None:
    message = ("Hi, order #1001 (ada@example.com) - has it shipped? And if I return one item, how long does the "
               "refund take?")
    whole = interpreter.classifier.classify(message)
    assert whole.confidence < 0.5  # start_return, order_status and policy_question share it
    u = interpreter.understand(message, CATALOG)
    assert (u.intent, u.in_scope, u.order_numbers, u.emails) == ("order_status", True, ("1001",), ("ada@example.com",))
    first = interpreter.classifier.classify("Hi, order #1001 (ada@example.com) - has it shipped?")
    assert u.confidence == first.confidence


def test_an_out_of_scope_message_is_not_searched_for_an_in_scope_clause(interpreter: ClassifierInterpreter) -> None:
    u = interpreter.understand("I love your shop. Tell me a joke?", CATALOG)
    assert (u.intent, u.in_scope) == ("out_of_scope", False)
