"""``python -m tests.fakes.iwinv``: run the fake IWINV server (``--help`` for options)."""

from tests.fakes.iwinv.server import main

raise SystemExit(main())
