"""``python -m tests.fakes.solapi``: run the fake SOLAPI server (``--help`` for options)."""

from tests.fakes.solapi.server import main

raise SystemExit(main())
