"""Pictures for people: the cluster as a drawing, and reachability grids side by side.

Everything here uses matplotlib's object-oriented API only (``Figure``, never ``pyplot``): no
global figure state, no GUI backend, nothing written to stderr (nbgrader scores any stderr as a
failure, and a lesson must stay clean). A :class:`Picture` displays itself in Jupyter through
``_repr_png_``.
"""

from .bars import draw_distribution
from .grids import compare_matrices
from .picture import Picture
from .topology import draw_topology

__all__ = ["Picture", "compare_matrices", "draw_distribution", "draw_topology"]
