"""Rules: owners automate with when → if → then, dry-run them on the past, and run them in shadow first."""
