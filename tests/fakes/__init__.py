"""Local fake vendor servers for tests and benchmarks (standard library only).

Import from the submodules (``tests.fakes.solapi``, ``tests.fakes.fixtures``); this package
imports nothing itself so that ``python -m tests.fakes.solapi`` runs cleanly.
"""
