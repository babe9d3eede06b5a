"""Alerts: tell the owner (Slack, email) when effects give up (one alert per automation and effect kind), the
review queue grows or ages, a store goes quiet in business hours, an automation's error rate jumps, or the store's
inputs start failing. Pure: checks over a snapshot, and the open → repeat → resolved life of each alert; the
database adapter reads the snapshot and delivers notices as effects."""
