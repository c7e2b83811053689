"""A worker app that does not know the ``it.late`` handler (F19)."""

from .common import build_app
from .handlers import block, crash, record, slow

app = build_app([record, block, slow, crash])
