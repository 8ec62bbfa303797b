"""Pages and static assets: the app and the public site (to come)."""
