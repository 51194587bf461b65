"""The plain-data RPC of the grader (autograde.wire), without a sandbox process."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest

from autograde import wire
from autograde.sandbox.tamper import eq_probe


class Pair:
    """A trusted peer (judge) talking to an untrusted one (sandbox) served by a thread."""

    def __init__(self, namespace: dict):
        a_r, b_w = os.pipe()
        b_r, a_w = os.pipe()
        self.judge = wire.Peer(a_r, a_w, trusted=True)
        self.sandbox = wire.Peer(b_r, b_w, trusted=False)
        self.sandbox.codec.inspect = eq_probe(self.sandbox.flags)  # as the sandbox's child does
        self.sandbox.handlers["lookup"] = lambda h, b: {n: namespace[n] for n in h["names"]}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.sandbox.serve()
        except wire.PeerGone:
            pass

    def get(self, *names):
        found = self.judge.request("lookup", names=list(names))
        return [found[n] for n in names]

    def close(self):
        wire.send_message(self.judge.wfd, {"op": "bye"}, [])
        self.thread.join(5)


def _learner():
    ns = {"np": np}
    exec(
        """
def scale_(x, d, rng):
    x *= 2
    d["w"] += 1
    d["new"] = np.zeros(2)
    rng.random(3)
    return "done"

def apply(f, arr):
    out = f(arr)
    return out, arr

KEPT = []

def keep(f):
    KEPT.append(f)
    return f(1)

def use_kept():
    return KEPT[-1](2)

def from_a_thread(f):
    import threading
    seen = []

    def run():
        try:
            f(3)
        except Exception as exc:
            seen.append(f"{type(exc).__name__}: {exc}")

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return seen[0] if seen else "called"

class Box:
    def __init__(self, v):
        self.v = v
        self.items = [1, 2, 3]
    def get(self):
        return self.v
    def __len__(self):
        return 3
    def __iter__(self):
        return iter(self.items)

class Oops(Exception):
    pass

def fail(kind):
    if kind == "value":
        raise ValueError("bad shape")
    if kind == "exit":
        raise SystemExit(4)
    raise Oops("custom")

def rebind_(params, grads, lr):
    for k in params:
        params[k] = params[k] - lr * grads[k]

def gen(n):
    for i in range(n):
        yield i * i

def train_(model):
    for p in model.params.values():
        p += 1.0
    return model.num_params(), type(model).__module__

class AlwaysEqual:
    def __eq__(self, other):
        return True

def rigged():
    return AlwaysEqual()

def poke(f):
    return f._peer.request("getattr", rid=f._rid, name="__globals__")
""",
        ns,
    )
    return ns


@pytest.fixture()
def pair():
    p = Pair(_learner())
    yield p
    p.close()


def test_arrays_round_trip_and_objects_are_refused():
    for arr in (np.arange(6.0).reshape(2, 3), np.array([True, False]), np.arange(4, dtype="i2")):
        copy, view = wire.load_array(wire.dump_array(arr))
        assert copy.dtype == arr.dtype and np.array_equal(copy, arr) and copy.flags.writeable
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.ProtocolError, match="refused"):
        wire.load_array(buf.getvalue())
    with pytest.raises(wire.ProtocolError):
        wire.load_array(b"\x93NUMPY garbage")


def test_in_place_updates_come_back(pair):
    (scale_,) = pair.get("scale_")
    x = np.array([1.0, 2.0])
    w = np.array([5.0])
    params = {"w": w}
    rng = np.random.default_rng(0)
    assert scale_(x, params, rng) == "done"
    assert np.array_equal(x, [2.0, 4.0])
    assert params["w"] is w and w[0] == 6.0  # written back into the same array
    assert np.array_equal(params["new"], [0.0, 0.0])
    ref = np.random.default_rng(0)
    ref.random(3)
    assert rng.random() == ref.random()


def test_only_declared_arguments_are_written_back(pair):
    """With the judge's rule, a call changes only the objects a ``T.in_place`` block names:
    the others stay as the test made them, whatever the learner's code did to its copies."""
    import cnnlab.calls as calls
    import cnnlab.testing as T

    pair.judge.may_update = calls.may_update
    (scale_,) = pair.get("scale_")
    x, params, rng = np.array([1.0, 2.0]), {"w": np.array([5.0])}, np.random.default_rng(0)
    start = rng.bit_generator.state
    try:
        assert scale_(x, params, rng) == "done"  # nothing declared: nothing changes
        assert np.array_equal(x, [1.0, 2.0]) and list(params) == ["w"] and params["w"][0] == 5.0
        assert rng.bit_generator.state == start
        with T.in_place(params):
            assert scale_(x, params, rng=rng) == "done"
        assert np.array_equal(x, [1.0, 2.0]) and params["w"][0] == 6.0 and "new" in params
        assert rng.bit_generator.state == start
        with T.in_place(x, rng):
            scale_(x, {"w": np.zeros(1)}, rng=rng)
        assert np.array_equal(x, [2.0, 4.0]) and params["w"][0] == 6.0
        assert rng.bit_generator.state != start
    finally:
        calls.reset()


def test_rebound_entries_replace_instead_of_updating_in_place(pair):
    """``params[k] = p - lr * g`` leaves the caller's original array alone, as in one process."""
    (rebind_,) = pair.get("rebind_")
    w = np.array([1.0, 2.0])
    params, grads = {"w": w}, {"w": np.array([10.0, 10.0])}
    rebind_(params, grads, 0.1)
    assert params["w"] is not w and np.array_equal(w, [1.0, 2.0])
    assert np.allclose(params["w"], [0.0, 1.0])


def test_callbacks_run_in_the_judge_and_write_back(pair):
    (apply,) = pair.get("apply")

    def double_(a):
        a *= 2
        return float(a.sum())

    total, arr = apply(double_, np.array([1.0, 2.0]))
    assert total == 6.0 and np.array_equal(arr, [2.0, 4.0])


def test_handles_of_learner_objects(pair):
    (Box,) = pair.get("Box")
    box = Box(7)
    assert isinstance(box, wire.Handle)
    assert box.v == 7 and box.get() == 7 and len(box) == 3 and list(box) == [1, 2, 3]
    box.v = 9
    assert box.get() == 9


def test_exceptions_keep_builtin_types_only(pair):
    (fail,) = pair.get("fail")
    with pytest.raises(ValueError, match="bad shape"):
        fail("value")
    with pytest.raises(wire.StudentError, match="SystemExit"):
        fail("exit")
    with pytest.raises(wire.StudentError, match="Oops: custom"):
        fail("custom")


def test_generators_are_consumed(pair):
    (gen,) = pair.get("gen")
    assert list(gen(4)) == [0, 1, 4, 9]


def test_nn_modules_travel_as_specs_and_update_in_place(pair):
    import cnnlab.nn as nn

    (train_,) = pair.get("train_")
    layer = nn.Linear(3, 2, seed=0)
    before = layer.params["w"].copy()
    # a real module on the learner's side (built from the spec), not a handle into the judge
    assert train_(layer) == (layer.num_params(), "cnnlab.nn.layers")
    assert np.allclose(layer.params["w"], before + 1.0)


def test_rigged_eq_is_flagged_and_not_equal(pair):
    (rigged,) = pair.get("rigged")
    value = rigged()
    assert isinstance(value, wire.Handle) and value != 3
    assert any("eq-always-true" in f for f in pair.judge.flags)


def test_sandbox_cannot_walk_into_judge_globals(pair):
    (poke,) = pair.get("poke")
    with pytest.raises(AttributeError, match="not available"):
        poke(lambda: 1)


def test_oversized_message_is_refused():
    r, w = os.pipe()
    os.write(w, (wire.MAX_MESSAGE + 1).to_bytes(8, "big"))
    with pytest.raises(wire.ProtocolError, match="refused"):
        wire.recv_message(r, None)
    os.close(r)
    os.close(w)


def test_module_specs_are_bounded_before_anything_is_built():
    """A 200-byte spec must not make the judge allocate gigabytes (issue 15 item 8, 20 item 3)."""
    from autograde.wire.codec import MAX_SPEC_ELEMENTS, Codec

    codec = Codec(make_proxy=None, own_proxy=lambda v: None)

    def decode(spec):
        codec.begin_message()
        return codec.decode({"$t": "nn", "spec": codec.encode(spec, [])}, [])

    huge = {"type": "Linear", "config": {"in_features": 20000, "out_features": 20000},
            "params": {}, "buffers": {}}  # fmt: skip
    with pytest.raises(wire.ProtocolError, match="refused"):
        decode(huge)
    bare = {"type": "Linear", "config": {"in_features": 3, "out_features": 2}}
    with pytest.raises(wire.ProtocolError, match="without its parameters"):
        decode(bare)
    deep = {"type": "Sequential", "layers": [{"type": "ReLU", "config": {}, "params": {}}] * 2000}
    with pytest.raises(wire.ProtocolError, match="layers"):
        decode(deep)
    many = {"type": "Sequential", "layers": [dict(huge, config={"in_features": 4000,
            "out_features": 4000})] * 2}  # fmt: skip
    assert 2 * 4000 * 4000 > MAX_SPEC_ELEMENTS
    with pytest.raises(wire.ProtocolError, match="in one message"):
        decode(many)


def test_a_callback_is_valid_during_its_call_only(pair):
    """A test cell's lambda kept by the learner's code is refused in a later call (issue 20)."""
    keep, use_kept, apply = pair.get("keep", "use_kept", "apply")
    assert keep(lambda v: v * 10) == 10
    with pytest.raises(Exception, match="unknown object"):
        use_kept()
    total, _ = apply(lambda a: float(a.sum()), np.ones(3))  # the channel still works
    assert total == 3.0


def test_requests_from_another_thread_are_refused(pair):
    """Only the serving thread may call back: a second writer would break the framing."""
    (from_a_thread,) = pair.get("from_a_thread")
    assert from_a_thread(lambda v: v) == (
        "RuntimeError: the grader answers requests from the thread it called only"
    )
    assert from_a_thread.__call__ is not None and pair.get("apply")  # still usable
