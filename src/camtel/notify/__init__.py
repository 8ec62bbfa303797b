"""Notification channels (inbox, email, Web Push, webhooks) and the rules that pick them."""
