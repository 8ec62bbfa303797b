"""People and organisations: users, memberships and roles, sessions and tokens, guardians."""
