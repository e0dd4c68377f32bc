"""Engines: pure computations over layers and parameters (PV, wind, sinks, coverage).

Each engine follows the contract of :mod:`twin.engine`: ``load`` asks a
:class:`~twin.engine.TwinSource` (handed in by the shell) for its layers, tables and
file paths and reads those files through :mod:`layers.io` and its own readers;
``compute`` is pure. Engines never open the catalog, DuckDB or Streamlit; the shell
(:mod:`shell.runners`) runs them and commits what they return.
"""
