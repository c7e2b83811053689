"""``python -m jobmaster``: the same as the ``jobmaster`` command."""

from .cli import main

raise SystemExit(main())
