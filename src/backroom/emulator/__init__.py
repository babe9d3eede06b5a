"""Stand-ins for the platforms backroom talks to, run locally for tests and the demo (``emulator.shopify``)."""
