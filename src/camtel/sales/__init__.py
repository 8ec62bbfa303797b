"""The sales side of the public site: quotes from the operator's price table, leads, and demo
bookings in the sales team's configured availability (P23)."""
