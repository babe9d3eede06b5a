"""backroom: the back office of an online store, run by software."""

__version__ = "0.1.0"
