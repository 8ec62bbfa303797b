"""Pure device protocol modules: bytes in, typed messages and replies out; no I/O."""
