"""Mail camtel sends: the outbox and its delivery by SMTP. Beneath accounts, notifications,
privacy and sales, which all queue mail; it knows none of them."""
