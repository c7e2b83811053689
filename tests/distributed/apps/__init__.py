"""Applications run by real ``jobmaster worker`` processes in the distributed tests.

Their whole cluster (master, agents, options, the one worker of the process) is described by
environment variables, so the test process and the worker processes share one cluster.
"""
