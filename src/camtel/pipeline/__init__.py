"""The ordered stages every position passes, the per-partition worker and the batched store."""
