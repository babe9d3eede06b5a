"""Natural-language understanding for the support agent, without an LLM: which intent a message expresses, how
sure we are, and whether it is in scope at all. See ``classifier`` for the model and ``intents`` for the set."""

from backroom.support.nlu.classifier import Classification, IntentClassifier, ScoredIntent, normalize
from backroom.support.nlu.intents import IN_SCOPE_INTENTS, Intent

__all__ = ["IN_SCOPE_INTENTS", "Classification", "Intent", "IntentClassifier", "ScoredIntent", "normalize"]
