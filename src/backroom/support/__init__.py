"""The support agent: tier-1 questions answered within policy, identity verified first, clean handover to a human."""
