"""Local fake vendor servers for tests and benchmarks (standard library only, 127.0.0.1 only).

``_server`` is the base they share (server life, manual clock, request log, fault injection);
``solapi``, ``iwinv`` and ``aligo`` are one package per vendor (``python -m tests.fakes.solapi``
runs one standalone); ``fixtures``, ``iwinv_fixtures`` and ``aligo_fixtures`` hold their pytest
fixtures and independent request helpers. This package imports nothing itself.
"""
