"""Reading, checking and importing the files planners bring (see :mod:`layers.ingest.importer`).

Importing this package locks GDAL down for the whole process
(:func:`layers.ingest._guard.lock_down`): no virtual drivers, no network.
"""

from layers.ingest import _guard

_guard.lock_down()
