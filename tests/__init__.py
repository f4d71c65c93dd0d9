"""The test suites of every package (a package, so the shared helpers import by name)."""
