"""Privacy: the personal-data registry that export, erasure and retention are driven by."""
