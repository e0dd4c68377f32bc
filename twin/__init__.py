"""carbon-twin kernel: city configs and targets, schema and units, parameters, engine contract, CRS, catalog.

The kernel is the one place where names, units, coordinate systems, engine parameters
(:mod:`twin.params`), the engine contract (:mod:`twin.engine`) and the on-disk layout of
a built twin (:mod:`twin.store`, the only code that talks to DuckDB) are declared. Every
other package (``layers``, ``engines``, ``synth``, ``shell``, ``mapapp``) stands on it;
it imports none of them.
"""

import logging

__all__ = ["__version__"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
