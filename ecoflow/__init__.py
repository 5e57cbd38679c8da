"""ecoflow: dataflows for CNN training on spatial accelerators, simulated cycle by cycle."""

import os

__version__ = "0.1.0"


def _no_hugepage_advice() -> None:
    """Stop NumPy advising the kernel to back its large arrays with huge pages.

    The compilers and the simulator allocate padded arrays of hundreds of megabytes (a pass's
    operations for every PE, a batch of passes) and write each once. Where the kernel's
    transparent-huge-page ``defrag`` setting is ``madvise`` (a common default), each first touch
    of an advised array may compact memory before it maps a 2 MiB page. On a 2-core VM that
    made building one row-stationary layer's programs 3x slower (14 s against 5 s of CPU, and
    a whole layer phase 55 s against 31 s). Setting ``NUMPY_MADVISE_HUGEPAGE`` in the
    environment (``1`` or ``0``) keeps NumPy's own choice.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x: numpy.core
        from numpy.core import multiarray
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


_no_hugepage_advice()
