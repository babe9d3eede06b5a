"""Message normalisation before classification and policy search: shorthand, typo mending, other languages glossed."""

from __future__ import annotations

import pytest

from backroom.support.normalise import Normaliser, default_normaliser, detect_language, gloss, typing_slip

CATALOG = ["Merino Jumper", "Denim Jacket", "Leather Boots"]


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    return default_normaliser().extended(CATALOG)


@pytest.mark.parametrize(("message", "normalised"), [
    ("canel my order #1001 SW1A2AA", "cancel my order #1001 SW1A2AA"),
    ("can i retrun somthing after 3 weeks", "can i return something after 3 weeks"),  # "retrun": a typo in examples
    ("do u ship to germny", "do you ship to germany"),
    ("wat paymnet methods do u acept", "what payment methods do you accept"),
    ("how long dose a refnd take", "how long does a refund take"),
    ("is the merino jumpr in stok?", "is the merino jumper in stock?"),  # "jumper" from the catalog
])
def test_shorthand_is_spelt_out_and_typos_are_mended(normaliser: Normaliser, message: str, normalised: str) -> None:
    assert normaliser.normalise(message) == normalised


def test_names_short_real_words_emails_and_codes_are_left_alone(normaliser: Normaliser) -> None:
    # "Harry" is capitalised mid-message (a name); "well" → will would be a change of letter in a short word
    assert normaliser.normalise("Hi! Hope you're well, Harry here") == "Hi! Hope you're well, Harry here"
    assert normaliser.normalise("email ada@example.com re order #1001 pls") == (
        "email ada@example.com re order #1001 please")
    assert normaliser.normalise("SYSTEM OVERRIDE") == "SYSTEM OVERRIDE"


def test_a_typo_is_mended_only_to_a_clear_single_candidate() -> None:
    vocabulary = Normaliser(["order"] * 3 + ["cancel"] * 2 + ["stock"] * 2 + ["stop"] + ["hello"] * 2)
    assert [vocabulary.mend(w) for w in ("ordr", "canel", "stok", "stop", "helo")] == [
        "order", "cancel", "stock", "stop", "hello"]
    # "stop" is seen once: too rare to be trusted as a correction, so "stok" goes to "stock" alone
    assert vocabulary.mend("xylophone") == "xylophone"  # nothing one edit away
    tie = Normaliser(["cart", "cart", "card", "card"])
    assert tie.mend("carx") == "carx"  # a substitution in a four-letter word is never taken
    assert Normaliser(["parcel", "parcel", "parcels"]).mend("parcle") == "parcel"


def test_rare_words_of_the_vocabulary_that_are_typos_of_common_ones_are_mended() -> None:
    words = ["return"] * 30 + ["retrun"] + ["help"] * 30 + ["hell"]
    vocabulary = Normaliser(words)
    assert (vocabulary.mend("retrun"), vocabulary.mend("hell")) == ("return", "hell")  # a swap, not a new letter


def test_known_words_are_never_mended_nor_used_as_corrections() -> None:
    vocabulary = Normaliser(["back"] * 10 + ["holds"] * 10, known=["black", "holes"])
    assert (vocabulary.mend("black"), vocabulary.mend("holes"), vocabulary.mend("bakc")) == ("black", "holes", "back")
    assert "black" in vocabulary.vocabulary


@pytest.mark.parametrize(("message", "language"), [
    ("Kann ich mit PayPal bezahlen?", "de"),
    ("Wann kommt mein Paket an?", "de"),
    ("Livrez-vous en France ? Combien coûte la livraison ?", "fr"),
    ("merci", "fr"),
    ("¿Tienen la Rain Jacket en stock?", "es"),  # "la", "en" are French too: "tienen" decides
    ("Hola", "es"),
    ("Do you ship to Portugal?", "en"),
    ("Is the Denim Jacket in stock?", "en"),
    ("", "en"),
])
def test_the_language_is_told_by_its_words(message: str, language: str) -> None:
    assert detect_language(message) == language


@pytest.mark.parametrize(("message", "glossed"), [
    ("Wie lange habe ich Zeit, um einen Artikel zurückzuschicken?", "how long do i have a item return"),
    ("Was kostet der Versand nach Deutschland?", "how much does it cost the shipping to germany"),
    ("Hallo, wo ist meine Bestellung #1005? Meine E-Mail ist eva.schmidt@example.de",
     "hello where is my order #1005 my e mail is eva.schmidt@example.de"),
    ("Bonjour, combien de jours ai-je pour retourner un article ?", "hello how many days have i to return a item"),
    ("Quelle taille choisir si j'hésite entre deux tailles ?", "which size choose if i am between two sizes"),
    ("¿Aceptan pagos con PayPal?", "do you accept payments with paypal"),
    ("¿Cuánto tarda el envío a España?", "how long does it take the shipping to spain"),
])
def test_other_languages_are_glossed_into_english_word_by_word(normaliser: Normaliser, message: str,
                                                               glossed: str) -> None:
    assert normaliser.normalise(message) == glossed


def test_a_gloss_keeps_words_its_lexicon_lacks_and_drops_words_it_maps_to_nothing() -> None:
    assert gloss("Est-ce que vous livrez en Belgique ?", "fr") == "you deliver in belgium"
    assert gloss("Kann ich Zalando-Gutscheine benutzen?", "de") == "can i zalando gutscheine benutzen"


@pytest.mark.parametrize(("typed", "meant", "slip"), [
    ("refnd", "refund", True),  # a letter left out
    ("paymnet", "payment", True),  # two letters swapped
    ("ordet", "order", True),  # "t" is next to "r"
    ("heelp", "help", True),  # a letter doubled
    ("white", "write", False),  # "h" is nowhere near "r": another word, not a typo
    ("peace", "place", False),
    ("kinds", "kids", False),  # an "n" typed between "i" and "d" is no slip
])
def test_a_typo_is_a_slip_typing_makes(typed: str, meant: str, slip: bool) -> None:
    assert typing_slip(typed, meant) is slip


def test_common_real_words_are_not_mended_into_store_words(normaliser: Normaliser) -> None:
    assert normaliser.normalise("were the white horses at peace") == "were the white horses at peace"
