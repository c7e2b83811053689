"""Background loops of a JobMaster process: worker, lease keeper, syncer, rescuer, topology.

Every loop has the same shape: collaborators passed to the constructor, ``start()`` / ``stop()``,
and a public ``run_once()`` that tests call instead of sleeping.
"""
