"""WooCommerce: webhooks in (verified, deduplicated, mapped to our commands). See manifest.py for what is covered."""
