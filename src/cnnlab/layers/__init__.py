"""Fast functional layers: ``*_forward(...) -> (out, cache)``, ``*_backward(dout, cache)``.

Every backward returns the gradients in the order of the forward's array inputs (``dx, dw, db``).
Images are NCHW; float32 and float64 inputs keep their dtype.

=========================  ==========================================================
module                     layers
=========================  ==========================================================
:mod:`.conv`               ``conv_output_size``, ``im2col``, ``col2im``, ``conv_*``
:mod:`.pool`               ``maxpool_*``, ``avgpool_*``, ``global_avgpool_*``
:mod:`.basic`              ``relu_*``, ``affine_*``, ``dropout_*``, ``softmax_cross_entropy``
:mod:`.norm`               ``batchnorm2d_*``
:mod:`.transpose`          ``conv_transpose_*``, ``upsample_nearest_*``
=========================  ==========================================================
"""

from . import basic, conv, norm, pool, transpose
from .basic import *  # noqa: F403 - each module's __all__ is its public API
from .conv import *  # noqa: F403
from .norm import *  # noqa: F403
from .pool import *  # noqa: F403
from .transpose import *  # noqa: F403

__all__ = [*conv.__all__, *pool.__all__, *basic.__all__, *norm.__all__, *transpose.__all__]
