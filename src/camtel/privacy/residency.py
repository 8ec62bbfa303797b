"""Data residency (P13): the configured storage region, and a check that the media endpoint
does not quietly put data somewhere else."""

from __future__ import annotations

import re

_REGION = re.compile(r"\b([a-z]{2}-[a-z]+-\d)\b")


def residency_problem(region: str, endpoint: str) -> str | None:
    """Why an object-store endpoint contradicts the declared region, or None.

    Endpoints that name a region (s3.eu-central-1.amazonaws.com) must name the declared one;
    endpoints that name none (a self-hosted MinIO) cannot be checked and are accepted.
    """
    named = _REGION.search(endpoint.lower())
    if named is None:
        return None
    declared = _REGION.search(region.lower())
    if declared is None:
        return (
            f"the media endpoint is in {named.group(1)} but CAMTEL_STORAGE_REGION "
            f"({region!r}) names no such region"
        )
    if declared.group(1) != named.group(1):
        return f"the media endpoint is in {named.group(1)}, not in the declared {declared.group(1)}"
    return None
