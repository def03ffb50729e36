"""The ``rlrun`` command: builds env and agent, drives the loop, logs, evaluates, saves."""
