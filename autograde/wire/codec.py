"""The codec: Python values <-> JSON-able data plus array blobs. Never a pickle.

What travels by value: ``None``, bool, int, float, complex, str, bytes, list, tuple, dict, set,
NumPy arrays and scalars of numeric, boolean and unicode dtypes (``.npy`` bytes read back by our
own header parser: object dtypes are refused), ``np.random.Generator`` (its state),
``cnnlab.nn`` modules (their spec, size-checked by :mod:`.specs` before anything is built),
and iterators (consumed into a capped list on the side that owns them). Everything else travels as a
*reference*: an id in this side's :attr:`Codec.objects` that the other side turns into a proxy
(``make_proxy``). Decoding never imports a module, never looks up a name and never calls
anything but NumPy's array parsing, ``np.random`` bit generators and ``cnnlab.spec.from_spec``.

The codec holds no channel: the peer (:mod:`.peer`) owns one codec and gives it two hooks,
``make_proxy`` (build a proxy for the other side's object ``id``) and ``own_proxy`` (the id of
one of the other side's objects when a proxy is sent back), plus ``inspect`` (the sandbox's
tamper probe for values of suspicious classes, see :mod:`autograde.sandbox.tamper`).
"""

from __future__ import annotations

import collections.abc
import io
import types

import numpy as np

from .framing import ProtocolError
from .specs import MAX_SPEC_ELEMENTS, spec_elements

# NumPy functions the codec relies on, captured before any learner code runs in this process
_array_equal = np.array_equal
_ascontiguousarray = np.ascontiguousarray
_asarray = np.asarray
_write_array = np.lib.format.write_array
_frombuffer = np.frombuffer

MAX_ITEMS = 100_000
_ARRAY_KINDS = set("biufcU")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class _Same:
    """Marker: this array did not change during the call."""

    def __repr__(self):
        return "SAME"


SAME = _Same()


def dump_array(arr: np.ndarray) -> bytes:
    """``.npy`` bytes of ``arr`` (no pickles)."""
    buf = io.BytesIO()
    _write_array(buf, _asarray(arr), allow_pickle=False)
    return buf.getvalue()


def load_array(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``.npy`` bytes; return (a writable copy, a read-only view of the received bytes).

    Only numeric, boolean and unicode dtypes are accepted.
    """
    fp = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"npy version {version}")
    except Exception as exc:
        raise ProtocolError(f"bad array: {exc}") from None
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
        raise ProtocolError(f"array dtype {dtype} refused")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != len(blob) - fp.tell():
        raise ProtocolError("array size does not match its header")
    view = _frombuffer(blob, dtype=dtype, count=count, offset=fp.tell())
    view = view.reshape(shape, order="F" if fortran else "C")
    return view.copy(order="K"), view


class Codec:
    """Encoder and decoder of one side, with the registry of the objects it handed out.

    Parameters
    ----------
    make_proxy : callable(id, name, callable) -> object
        Builds the proxy of an object of the other side.
    own_proxy : callable(value) -> int or None
        The other side's id when ``value`` is one of its proxies (sent back by reference).
    inspect : callable(value), optional
        Called on values whose class redefines equality or subclasses a plain type (the
        sandbox's tamper probe); None on the judge's side.
    """

    def __init__(self, make_proxy, own_proxy, inspect=None, max_items: int = MAX_ITEMS):
        self.make_proxy = make_proxy
        self.own_proxy = own_proxy
        self.inspect = inspect
        self.max_items = max_items
        self.objects: dict[int, object] = {}
        self._ids: dict[int, int] = {}
        self._next_id = 1
        self.spec_budget = MAX_SPEC_ELEMENTS

    def begin_message(self) -> None:
        """A new message is decoded: its module specs get a fresh allocation budget."""
        self.spec_budget = MAX_SPEC_ELEMENTS

    def register(self, obj) -> int:
        """The id under which the other side may refer to ``obj``."""
        key = id(obj)
        rid = self._ids.get(key)
        if rid is not None and self.objects.get(rid) is obj:
            return rid
        rid = self._next_id
        self._next_id += 1
        self.objects[rid] = obj
        self._ids[key] = rid
        return rid

    def mark(self) -> int:
        """A point in the registrations: see :meth:`release_since`."""
        return self._next_id

    def release_since(self, mark: int) -> None:
        """Forget every object registered since ``mark``: its id is refused from now on."""
        for rid in [r for r in self.objects if r >= mark]:
            self._ids.pop(id(self.objects.pop(rid)), None)

    def lookup(self, rid):
        """The object registered under ``rid``; ProtocolError for an id never handed out."""
        if not isinstance(rid, int) or rid not in self.objects:
            raise ProtocolError(f"unknown object {rid!r}")
        return self.objects[rid]

    def _inspect(self, value) -> None:
        if self.inspect is not None:
            self.inspect(value)

    def encode(self, value, blobs: list[bytes], views: dict | None = None, depth: int = 0):
        """Turn ``value`` into JSON-able data, appending array bytes to ``blobs``."""
        if depth > 100:
            raise ValueError("value nested too deeply")
        d = depth + 1
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return {"$t": "f", "v": repr(value)}
        own = self.own_proxy(value)
        if own is not None:
            return {"$t": "ref", "id": own}
        if isinstance(value, np.ndarray):
            if type(value) is not np.ndarray:
                self._inspect(value)
            if views is not None and id(value) in views:
                arr, view = views[id(value)]
                if arr is value and _unchanged(value, view):
                    return {"$t": "same"}
            if value.dtype.kind not in _ARRAY_KINDS or value.dtype.fields is not None:
                return self._handle(value)
            blobs.append(dump_array(np.asarray(value)))
            if views is not None and id(value) not in views:
                # post-call state: an array the callee put in place of an argument's array
                # (``params[k] = p - lr * g``) must replace it at the caller too, not be copied
                # into the caller's original array as if it had been updated in place
                return {"$t": "nd", "i": len(blobs) - 1, "new": True}
            return {"$t": "nd", "i": len(blobs) - 1}
        if isinstance(value, np.generic):
            if value.dtype.kind not in _ARRAY_KINDS:
                return self._handle(value)
            blobs.append(dump_array(np.asarray(value)))
            return {"$t": "np", "i": len(blobs) - 1}
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, (int, float, str, complex, bytes)):
            self._inspect(value)  # subclasses of plain types
            if isinstance(value, int):
                return int(value)
            if isinstance(value, float):
                return {"$t": "f", "v": repr(float(value))}
            if isinstance(value, str):
                return str(value)
            if isinstance(value, complex):
                return {"$t": "c", "v": [value.real, value.imag]}
            blobs.append(bytes(value))
            return {"$t": "b", "i": len(blobs) - 1}
        if isinstance(value, (list, tuple, dict, set, frozenset)) and type(value) not in (
            list,
            tuple,
            dict,
            set,
            frozenset,
        ):
            self._inspect(value)
        if isinstance(value, list):
            return {"$t": "l", "v": [self.encode(v, blobs, views, d) for v in value]}
        if isinstance(value, tuple):
            return {"$t": "t", "v": [self.encode(v, blobs, views, d) for v in value]}
        if isinstance(value, dict):
            items = [[self.encode(k, blobs, None, d), self.encode(v, blobs, views, d)]
                     for k, v in value.items()]  # fmt: skip
            return {"$t": "d", "v": items}
        if isinstance(value, (set, frozenset)):
            return {"$t": "s", "v": [self.encode(v, blobs, None, d) for v in value]}
        if isinstance(value, np.random.Generator):
            state = value.bit_generator.state
            return {"$t": "rng", "state": self.encode(state, blobs, None, d)}
        if _is_nn_module(value):
            try:
                import cnnlab.spec

                spec = cnnlab.spec.to_spec(value)
            except Exception:
                return self._handle(value)
            return {"$t": "nn", "spec": self.encode(spec, blobs, views, d)}
        if isinstance(value, types.ModuleType):
            raise TypeError(f"module {value.__name__} cannot be sent")
        if isinstance(value, (types.GeneratorType, collections.abc.Iterator, range)):
            items = []
            for item in value:
                items.append(item)
                if len(items) >= self.max_items:
                    break
            return {"$t": "it", "v": [self.encode(v, blobs, None, d) for v in items]}
        if isinstance(value, type):
            return {"$t": "fn", "id": self.register(value), "name": value.__name__}
        if callable(value) and isinstance(
            value,
            (
                types.FunctionType,
                types.MethodType,
                types.BuiltinFunctionType,
                types.BuiltinMethodType,
                np.ufunc,
            ),
        ):
            return {"$t": "fn", "id": self.register(value), "name": _name_of(value)}
        if type(value).__eq__ is not object.__eq__:
            self._inspect(value)
        return self._handle(value)

    def _handle(self, value):
        return {
            "$t": "h",
            "id": self.register(value),
            "name": type(value).__name__,
            "call": callable(value),
        }

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, data, blobs: list[bytes], views: dict | None = None, depth: int = 0):
        """Inverse of :meth:`encode`; ``views`` collects received arrays for change detection."""
        if depth > 100:
            raise ProtocolError("value nested too deeply")
        d = depth + 1
        if data is None or type(data) in (bool, int, str):
            return data
        if type(data) is float:
            return data
        if not isinstance(data, dict):
            raise ProtocolError(f"unexpected {type(data).__name__} in message")
        tag = data.get("$t")
        if tag == "f":
            return float(data["v"])
        if tag in ("nd", "np"):
            arr, view = load_array(_blob(blobs, data["i"]))
            if tag == "np":
                return arr[()]
            if views is not None:
                views[id(arr)] = (arr, None if data.get("new") else view)
            return arr
        if tag == "b":
            return bytes(_blob(blobs, data["i"]))
        if tag == "c":
            re_, im = data["v"]
            return complex(float(re_), float(im))
        if tag == "same":
            return SAME
        if tag in ("l", "t", "s", "it"):
            items = data.get("v")
            if not isinstance(items, list):
                raise ProtocolError("bad sequence")
            vals = [self.decode(v, blobs, views if tag in "lt" else None, d) for v in items]
            if tag == "l":
                return vals
            if tag == "t":
                return tuple(vals)
            if tag == "it":
                return iter(vals)
            return set(vals)
        if tag == "d":
            out = {}
            for pair in data.get("v", []):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                key = self.decode(pair[0], blobs, None, d)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise ProtocolError("bad dict key")
                out[key] = self.decode(pair[1], blobs, views, d)
            return out
        if tag == "rng":
            state = self.decode(data["state"], blobs, None, d)
            name = state.get("bit_generator") if isinstance(state, dict) else None
            if name not in _BIT_GENERATORS:
                raise ProtocolError(f"bit generator {name!r} refused")
            gen = np.random.Generator(getattr(np.random, name)())
            try:
                gen.bit_generator.state = state
            except Exception as exc:
                raise ProtocolError(f"bad generator state: {exc}") from None
            return gen
        if tag == "nn":
            import cnnlab.spec

            spec = self.decode(data["spec"], blobs, None, d)
            self.spec_budget -= spec_elements(spec)
            if self.spec_budget < 0:
                raise ProtocolError(
                    f"module specs of more than {MAX_SPEC_ELEMENTS:,} values in one message refused"
                )
            try:
                return cnnlab.spec.from_spec(spec)
            except Exception as exc:
                raise ProtocolError(f"bad module spec: {exc}") from None
        if tag == "ref":
            return self.lookup(data.get("id"))
        if tag in ("fn", "h"):
            rid = data.get("id")
            if not isinstance(rid, int):
                raise ProtocolError("bad object id")
            name = str(data.get("name", "function" if tag == "fn" else "object"))[:80]
            return self.make_proxy(rid, name, tag == "fn" or bool(data.get("call")))
        raise ProtocolError(f"unknown tag {tag!r}")


def _is_nn_module(value) -> bool:
    mod = type(value).__module__  # the classes live in cnnlab.nn's submodules
    return (mod == "cnnlab.nn" or mod.startswith("cnnlab.nn.")) and hasattr(value, "forward")


def _blob(blobs, i):
    if not isinstance(i, int) or not 0 <= i < len(blobs):
        raise ProtocolError("bad blob index")
    return blobs[i]


def _name_of(fn) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function"))[:80]


def _unchanged(arr: np.ndarray, view: np.ndarray) -> bool:
    if arr.shape != view.shape or arr.dtype != view.dtype:
        return False
    try:
        return bool(_array_equal(_ascontiguousarray(arr).view(np.uint8), view.view(np.uint8)))
    except ValueError:
        return bool(_array_equal(arr, view))


def _plain_immutable(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, complex, bytes))
