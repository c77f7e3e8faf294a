"""The registry's domain: immutable records and pure functions, no I/O."""
