"""Alerts: tell the owner (Slack, email) when an effect gives up, the review queue grows or ages, a store goes
quiet in business hours, or an automation's error rate jumps. Pure: checks over a snapshot, and the open → repeat →
resolved life of each alert; the database adapter reads the snapshot and delivers notices as effects."""
