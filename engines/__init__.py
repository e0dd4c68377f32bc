"""Engines: pure computations over layers and parameters (PV, wind, sinks, coverage).

Engines never touch files, DuckDB or Streamlit; the shell (:mod:`shell.runners`) reads
their inputs from a built twin and commits what they return.
"""
