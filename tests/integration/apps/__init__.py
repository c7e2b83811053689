"""Small JobMaster applications run by real ``jobmaster worker`` processes in integration tests.

They build their configuration from environment variables (see :mod:`.common`) so the worker
processes and the test process share one cluster.
"""
