"""Benchmarks that print figures (they are not tests). `python -m bench [name] [args]`."""
