"""``python -m tests.fakes.aligo``: run the fake Aligo server (``--help`` for options)."""

from tests.fakes.aligo.server import main

raise SystemExit(main())
