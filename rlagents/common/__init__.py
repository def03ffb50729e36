"""Building blocks shared by two or more algorithms (networks, schedules, buffers, torch set-up).

An algorithm's own trick stays in the algorithm's file.
"""
