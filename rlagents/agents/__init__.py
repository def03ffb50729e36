"""Built-in agents, one algorithm per module, registered through the ``rlagents.agents`` entry
points in ``setup.cfg`` (the same path third-party plugins take)."""
