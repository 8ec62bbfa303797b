"""Helpers shared by the tests, one module per subject: `env` (services, data, free ports),
`accounts` (people through the API), `factories` (rows made directly), `ingest`, `media`,
`notify`, `geofences`, `privacy`, `trips`, `nats` (a JetStream bus per test) and `tls` (a
certificate). Browser-only helpers stay beside the browser tests in `tests/web/`."""
