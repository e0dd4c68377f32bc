"""carbon-twin kernel: city configs and targets, schema and units, CRS, catalog, CLI.

The kernel is the one place where names, units, coordinate systems and the
on-disk layout of a built twin are declared. Engines (``engines.pv``,
``sinks``, the compute half of ``layers``) import from here and never touch
files; the IO adapters (``layers.io.files``, ``twin.store``) do.
"""

import logging

__all__ = ["__version__"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
