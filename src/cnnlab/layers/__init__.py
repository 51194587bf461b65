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
=========================  ==========================================================
"""

from .basic import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_cross_entropy,
)
from .conv import col2im, conv_backward, conv_forward, conv_output_size, im2col
from .norm import batchnorm2d_backward, batchnorm2d_forward
from .pool import (
    avgpool_backward,
    avgpool_forward,
    global_avgpool_backward,
    global_avgpool_forward,
    maxpool_backward,
    maxpool_forward,
)

__all__ = [
    "conv_output_size",
    "im2col",
    "col2im",
    "conv_forward",
    "conv_backward",
    "maxpool_forward",
    "maxpool_backward",
    "avgpool_forward",
    "avgpool_backward",
    "global_avgpool_forward",
    "global_avgpool_backward",
    "relu_forward",
    "relu_backward",
    "affine_forward",
    "affine_backward",
    "dropout_forward",
    "dropout_backward",
    "softmax_cross_entropy",
    "batchnorm2d_forward",
    "batchnorm2d_backward",
]
