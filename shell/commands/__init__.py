"""The engine commands of ``twin`` (one module each; :mod:`shell.cli` adds them)."""
