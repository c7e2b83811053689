"""Backends: one package per service, each implementing the role contracts of ``jobmaster.abc``."""
