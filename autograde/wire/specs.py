"""What a ``cnnlab.nn`` module's spec may allocate, bounded before anything is built.

A module travels as its spec (:func:`cnnlab.spec.to_spec`); the decoding side
(:meth:`.codec.Codec.decode`) checks it here against :data:`MAX_SPEC_ELEMENTS` per message
before :func:`cnnlab.spec.from_spec` allocates its arrays. Pure: reads the spec, builds nothing.
"""

from __future__ import annotations

from .framing import ProtocolError

MAX_CONFIG_INT = 100_000
MAX_LAYERS = 1_000
MAX_SPEC_ELEMENTS = 20_000_000  # per message: what the module specs in it may allocate


def spec_elements(spec, depth: int = 0, layers: list | None = None) -> int:
    """An upper bound on the array elements building ``spec`` allocates, from its config alone.

    Each layer allocates at most the product of its integer config values (a Linear's
    in*out, a Conv2d's out*in*k*k times stride and pad, all at least 1), so the bound holds
    without building anything. Raises :class:`ProtocolError` on a malformed spec, a config
    integer over :data:`MAX_CONFIG_INT` or more than :data:`MAX_LAYERS` layers.
    """
    layers = [] if layers is None else layers
    if depth > 50 or not isinstance(spec, dict):
        raise ProtocolError("bad module spec")
    layers.append(1)
    if len(layers) > MAX_LAYERS:
        raise ProtocolError(f"module spec with more than {MAX_LAYERS} layers refused")
    total = 0
    for layer in spec.get("layers", []) or []:
        total += spec_elements(layer, depth + 1, layers)
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ProtocolError("bad module spec")
    if spec.get("type") != "Sequential" and not isinstance(spec.get("params"), dict):
        raise ProtocolError("module spec without its parameters refused")
    product = 1
    for value in config.values():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool):
                if abs(v) > MAX_CONFIG_INT:
                    raise ProtocolError(f"module spec with a size of {v} refused")
                product *= max(1, abs(v))
    return total + (product if config else 0)
