"""Helpers shared by test modules: `from tests.helpers.ingest import Ingest`."""
