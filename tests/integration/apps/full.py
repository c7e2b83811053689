"""A worker app that knows every test handler."""

from .common import build_app
from .handlers import ALL_HANDLERS

app = build_app(ALL_HANDLERS)
