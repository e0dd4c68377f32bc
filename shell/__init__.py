"""The shell: the ``twin`` command, the demo build, imports, ``twin info`` and batch runs.

The only package that both reads a built twin and runs engines on it.
"""
