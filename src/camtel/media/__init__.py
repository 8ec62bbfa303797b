"""Media: stores, analysis, embedded GPS tracks, redaction and sharing (to come)."""
