"""Every query of the ingest service (all its SQL), one module per domain."""
