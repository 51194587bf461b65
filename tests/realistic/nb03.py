"""Realistic mistakes in 03-training: what learners write, each as a complete answer cell.

``core=True`` marks the mistakes an exercise exists to teach (the case its prose warns about and
the rows of issue 13 for this notebook): the public part of the test cell must catch them.
"""

from realistic import Mistake

MISTAKES = [
    # ---------------------------------------------------------------------------------- he_init
    Mistake(
        "test_he_init",
        "he_init LeCun scale sqrt(1/fan_in)",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            std = np.sqrt(1.0 / fan_in)
            return rng.standard_normal(shape) * std
    """
        },
        core=True,
    ),
    Mistake(
        "test_he_init",
        "he_init variance passed as the std",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            return rng.normal(0.0, 2.0 / fan_in, size=shape)
    """
        },
        core=True,
    ),
    Mistake(
        "test_he_init",
        "he_init recomputes fan_in from the last axis",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            fan = shape[-1] if len(shape) == 2 else shape[0] * shape[2] * shape[3]
            return rng.standard_normal(shape) * np.sqrt(2.0 / fan)
    """
        },
        core=True,
    ),
    Mistake(
        "test_he_init",
        "he_init uses the global numpy random state",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            return np.random.randn(*shape) * np.sqrt(2.0 / fan_in)
    """
        },
    ),
    Mistake(
        "test_he_init",
        "he_init uniform numbers from rng.random",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            return rng.random(shape) * np.sqrt(2.0 / fan_in)
    """
        },
    ),
    Mistake(
        "test_he_init",
        "he_init makes its own seeded generator",
        {
            "he_init": """
        def he_init(shape, fan_in, rng):
            gen = np.random.default_rng(42)
            return gen.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    """
        },
    ),
    # ---------------------------------------------------------------------------- build_convnet
    Mistake(
        "test_build_convnet",
        "build_convnet ReLU after the score layer",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            if rng is None:
                rng = np.random.default_rng()
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c * 9, rng)
                    layers += [conv, nn.ReLU()]
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in list(hidden) + [num_classes]:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            return nn.Sequential(*layers)
    """
        },
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet forgets that pooling halves H and W",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c * 9, rng)
                    layers += [conv, nn.ReLU()]
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet conv fan-in from the outputs F*3*3",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, f * 3 * 3, rng)
                    layers += [conv, nn.ReLU()]
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet conv fan-in C without the 3x3 window",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c, rng)
                    layers += [conv, nn.ReLU()]
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet assigns weights into model.params",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            fans = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    layers += [nn.Conv2d(c, f, 3, pad=1), nn.ReLU()]
                    fans.append(c * 9)
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                layers += [nn.Linear(d, m), nn.ReLU()]
                fans.append(d)
                d = m
            layers.append(nn.Linear(d, num_classes))
            fans.append(d)
            model = nn.Sequential(*layers)
            weights = [k for k in model.params if k.endswith(".w")]
            for key, fan in zip(weights, fans):
                model.params[key] = he_init(model.params[key].shape, fan, rng)
            return model
    """
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet pools after every convolution",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c * 9, rng)
                    layers += [conv, nn.ReLU(), nn.MaxPool2d(2, stride=2)]
                    c = f
                    h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet convolutions without padding",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c * 9, rng)
                    layers += [conv, nn.ReLU()]
                    c = f
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = c * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet keeps the input channels for every conv",
        {
            "build_convnet": """
        def build_convnet(input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1,
                          hidden=(64,), rng=None):
            rng = np.random.default_rng() if rng is None else rng
            c, h, w = input_shape
            layers = []
            for f in conv_channels:
                for _ in range(convs_per_block):
                    conv = nn.Conv2d(c, f, 3, pad=1)
                    conv.params["w"][...] = he_init(conv.params["w"].shape, c * 9, rng)
                    layers += [conv, nn.ReLU()]
                layers.append(nn.MaxPool2d(2, stride=2))
                h, w = h // 2, w // 2
            layers.append(nn.Flatten())
            d = conv_channels[-1] * h * w
            for m in hidden:
                fc = nn.Linear(d, m)
                fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
                layers += [fc, nn.ReLU()]
                d = m
            fc = nn.Linear(d, num_classes)
            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)
            layers.append(fc)
            return nn.Sequential(*layers)
    """
        },
    ),
    # ---------------------------------------------------------------------- iterate_minibatches
    Mistake(
        "test_iterate_minibatches",
        "minibatches shuffle X and y separately",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            if shuffle:
                X = X[rng.permutation(len(X))]
                y = y[rng.permutation(len(y))]
            for start in range(0, len(X), batch_size):
                yield X[start:start + batch_size], y[start:start + batch_size]
    """
        },
        core=True,
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches drop the partial last batch",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            for b in range(len(X) // batch_size):
                sel = idx[b * batch_size:(b + 1) * batch_size]
                yield X[sel], y[sel]
    """
        },
        core=True,
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches drawn with replacement",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            n = len(X)
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                if shuffle:
                    idx = rng.integers(0, n, size=size)
                else:
                    idx = np.arange(start, start + size)
                yield X[idx], y[idx]
    """
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches ignore shuffle=False",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                yield X[idx], y[idx]
    """
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches use np.random.permutation",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            order = np.random.permutation(len(X)) if shuffle else np.arange(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                yield X[idx], y[idx]
    """
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches re-seed a generator at every call",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            gen = np.random.default_rng(0)
            order = gen.permutation(len(X)) if shuffle else np.arange(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                yield X[idx], y[idx]
    """
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches shuffle the caller's arrays in place",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            if shuffle:
                order = rng.permutation(len(X))
                X[:] = X[order]
                y[:] = y[order]
            for start in range(0, len(X), batch_size):
                yield X[start:start + batch_size], y[start:start + batch_size]
    """
        },
    ),
    # -------------------------------------------------------------------------------- sgd_step
    Mistake(
        "test_sgd_step",
        "sgd_step puts new arrays into the dict",
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name in params:
                params[name] = params[name] - lr * grads[name]
    """
        },
        core=True,
    ),
    Mistake(
        "test_sgd_step",
        "sgd_step rebinds a local name",
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name, p in params.items():
                p = p - lr * grads[name]
    """
        },
    ),
    Mistake(
        "test_sgd_step",
        "sgd_step steps uphill",
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name in params:
                params[name] += lr * grads[name]
    """
        },
    ),
    # --------------------------------------------------------------------------- momentum_step
    Mistake(
        "test_momentum_step",
        "momentum velocity kept in a local variable",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.get(name, np.zeros_like(p))
                v = beta * v + grads[name]
                p -= lr * v
    """
        },
        core=True,
    ),
    Mistake(
        "test_momentum_step",
        "momentum puts new parameter arrays into the dict",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name in params:
                if name not in velocity:
                    velocity[name] = np.zeros_like(params[name])
                velocity[name] = beta * velocity[name] + grads[name]
                params[name] = params[name] - lr * velocity[name]
    """
        },
        core=True,
    ),
    Mistake(
        "test_momentum_step",
        "momentum with a (1 - beta) factor",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                v[...] = beta * v + (1 - beta) * grads[name]
                p -= lr * v
    """
        },
    ),
    Mistake(
        "test_momentum_step",
        "momentum steps with the old velocity",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                p -= lr * v
                v *= beta
                v += grads[name]
    """
        },
    ),
    Mistake(
        "test_momentum_step",
        "momentum ignores the beta argument",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                v *= 0.9
                v += grads[name]
                p -= lr * v
    """
        },
    ),
    # ------------------------------------------------------------------------------- adam_step
    Mistake(
        "test_adam_step",
        "adam without bias correction",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            for k, p in params.items():
                g = grads[k]
                state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g
                state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g**2
                p -= lr * state["m"][k] / (np.sqrt(state["v"][k]) + eps)
    """
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam step counter never stored",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            t = state["t"] + 1
            for k, p in params.items():
                g = grads[k]
                state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g
                state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g**2
                m_hat = state["m"][k] / (1 - beta1**t)
                v_hat = state["v"][k] / (1 - beta2**t)
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    """
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam puts new parameter arrays into the dict",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state.update(t=0, m={}, v={})
            state["t"] += 1
            t = state["t"]
            for k in params:
                g = grads[k]
                m = beta1 * state["m"].get(k, 0.0) + (1 - beta1) * g
                v = beta2 * state["v"].get(k, 0.0) + (1 - beta2) * g * g
                state["m"][k], state["v"][k] = m, v
                step = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
                params[k] = params[k] - lr * step
    """
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam eps inside the square root",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam increments t after the update",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                with np.errstate(divide="ignore", invalid="ignore"):
                    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            state["t"] = t + 1
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam keeps m and v in local variables",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m = beta1 * state["m"][k] + (1 - beta1) * grads[k]
                v = beta2 * state["v"][k] + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam corrects sqrt(v) instead of v",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v) / (1 - beta2**t) + eps)
    """
        },
    ),
    # ----------------------------------------------------------------------------- train_epoch
    Mistake(
        "test_train_epoch",
        "train_epoch averages the batch losses",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            losses = []
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                model.backward(dscores)
                step_fn(model.params, model.grads)
                losses.append(loss)
            return float(np.mean(losses))
    """
        },
        core=True,
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch never switches to training mode",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            total = 0.0
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                model.backward(dscores)
                step_fn(model.params, model.grads)
                total += loss * len(yb)
            return total / len(X)
    """
        },
        core=True,
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch forgets the backward pass",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            total = 0.0
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                step_fn(model.params, model.grads)
                total += loss * len(yb)
            return total / len(X)
    """
        },
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch does not shuffle",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            total = 0.0
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=False):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                model.backward(dscores)
                step_fn(model.params, model.grads)
                total += loss * len(yb)
            return total / len(X)
    """
        },
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch returns the last batch's loss",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                model.backward(dscores)
                step_fn(model.params, model.grads)
            return float(loss)
    """
        },
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch steps before the backward pass",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            total = 0.0
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                scores = model.forward(Xb)
                step_fn(model.params, model.grads)
                loss, dscores = softmax_cross_entropy(scores, yb)
                model.backward(dscores)
                total += loss * len(yb)
            return total / len(X)
    """
        },
    ),
    Mistake(
        "test_train_epoch",
        "train_epoch divides by batches times batch size",
        {
            "train_epoch": """
        def train_epoch(model, X, y, step_fn, batch_size, rng):
            model.train()
            total, batches = 0.0, 0
            for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng):
                loss, dscores = softmax_cross_entropy(model.forward(Xb), yb)
                model.backward(dscores)
                step_fn(model.params, model.grads)
                total += loss * len(yb)
                batches += 1
            return total / (batches * batch_size)
    """
        },
    ),
    # -------------------------------------------------------------------------------- evaluate
    Mistake(
        "test_evaluate",
        "evaluate forgets model.eval()",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            loss_sum, correct = 0.0, 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            return loss_sum / len(X), correct / len(X)
    """
        },
        core=True,
    ),
    Mistake(
        "test_evaluate",
        "evaluate never restores the mode",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            model.eval()
            loss_sum, correct = 0.0, 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            return loss_sum / len(X), correct / len(X)
    """
        },
        core=True,
    ),
    Mistake(
        "test_evaluate",
        "evaluate always switches back to train mode",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            model.eval()
            loss_sum, correct = 0.0, 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            model.train()
            return loss_sum / len(X), correct / len(X)
    """
        },
        core=True,
    ),
    Mistake(
        "test_evaluate",
        "evaluate restores only the model.training flag",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            mode = model.training
            model.eval()
            loss_sum, correct = 0.0, 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            model.training = mode
            return loss_sum / len(X), correct / len(X)
    """
        },
    ),
    Mistake(
        "test_evaluate",
        "evaluate averages the chunk losses",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            was_training = model.training
            model.eval()
            losses, correct = [], 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                losses.append(softmax_cross_entropy(scores, y[s:s + batch_size])[0])
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            if was_training:
                model.train()
            return float(np.mean(losses)), correct / len(X)
    """
        },
        core=True,
    ),
    Mistake(
        "test_evaluate",
        "evaluate drops the last partial chunk",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            was_training = model.training
            model.eval()
            n = max(len(X) // batch_size, 1) * batch_size
            loss_sum, correct = 0.0, 0
            for s in range(0, n, batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            if was_training:
                model.train()
            return loss_sum / min(n, len(X)), correct / min(n, len(X))
    """
        },
    ),
    Mistake(
        "test_evaluate",
        "evaluate returns the accuracy only",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            was_training = model.training
            model.eval()
            correct = 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            if was_training:
                model.train()
            return correct / len(X)
    """
        },
    ),
    Mistake(
        "test_evaluate",
        "evaluate returns the accuracy in percent",
        {
            "evaluate": """
        def evaluate(model, X, y, batch_size=256):
            was_training = model.training
            model.eval()
            loss_sum, correct = 0.0, 0
            for s in range(0, len(X), batch_size):
                scores = model.forward(X[s:s + batch_size])
                loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
                loss_sum += loss * len(scores)
                correct += np.sum(scores.argmax(axis=1) == y[s:s + batch_size])
            if was_training:
                model.train()
            return loss_sum / len(X), 100.0 * correct / len(X)
    """
        },
    ),
    # ---------------------------------------------------------------------------- random_shift
    Mistake(
        "test_random_shift",
        "random_shift with np.roll (wraps around)",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n = len(images)
            dy = rng.integers(-max_shift, max_shift + 1, size=n)
            dx = rng.integers(-max_shift, max_shift + 1, size=n)
            out = np.empty_like(images)
            for i in range(n):
                out[i] = np.roll(images[i], (-dy[i], -dx[i]), axis=(1, 2))
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_random_shift",
        "random_shift moves the content the wrong way",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            out = np.zeros_like(images)
            for i in range(n):
                out[i] = padded[i, :, m - dy[i]:m - dy[i] + h, m - dx[i]:m - dx[i] + w]
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_random_shift",
        "random_shift one offset for the batch",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1)
            dx = rng.integers(-m, m + 1)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            return padded[:, :, m + dy:m + dy + h, m + dx:m + dx + w].copy()
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift exclusive upper bound",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m, size=n)
            dx = rng.integers(-m, m, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            out = np.zeros_like(images)
            for i in range(n):
                out[i] = padded[i, :, m + dy[i]:m + dy[i] + h, m + dx[i]:m + dx[i] + w]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift draws (N, 2) offsets at once",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            offsets = rng.integers(-m, m + 1, size=(n, 2))
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            out = np.zeros_like(images)
            for i, (dy, dx) in enumerate(offsets):
                out[i] = padded[i, :, m + dy:m + dy + h, m + dx:m + dx + w]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift shifts the input in place",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            for i in range(n):
                images[i] = padded[i, :, m + dy[i]:m + dy[i] + h, m + dx[i]:m + dx[i] + w]
            return images
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift returns float64",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            out = np.zeros(images.shape)
            for i in range(n):
                for r in range(h):
                    for col in range(w):
                        rr, cc = r + dy[i], col + dx[i]
                        if 0 <= rr < h and 0 <= cc < w:
                            out[i, :, r, col] = images[i, :, rr, cc]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift always shifts by up to one pixel",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            dy = rng.integers(-1, 2, size=n)
            dx = rng.integers(-1, 2, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
            out = np.empty_like(images)
            for i in range(n):
                out[i] = padded[i, :, 1 + dy[i]:1 + dy[i] + h, 1 + dx[i]:1 + dx[i] + w]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift moves rows by dx and columns by dy",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            out = np.empty_like(images)
            for i in range(n):
                out[i] = padded[i, :, m + dx[i]:m + dx[i] + h, m + dy[i]:m + dy[i] + w]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift fills with edge values",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)), mode="edge")
            out = np.empty_like(images)
            for i in range(n):
                out[i] = padded[i, :, m + dy[i]:m + dy[i] + h, m + dx[i]:m + dx[i] + w]
            return out
    """
        },
        core=True,
    ),
    # --------------------------------------------------------------------------- train_convnet
    Mistake(
        "test_train_convnet",
        "train_convnet counts epochs from 1",
        {
            "train_convnet": """
        def train_convnet(X, y, seed=0, on_epoch_end=None):
            rng = np.random.default_rng(seed)
            model = build_convnet(X.shape[1:], int(y.max()) + 1, (32, 32), rng=rng)
            state = {}
            for epoch in range(1, 26):
                lr = 2e-3 * 0.5 * (1 + np.cos(np.pi * (epoch - 1) / 25))
                X_aug = random_shift(X, rng, 1)
                step = lambda p, g: adam_step(p, g, state, lr)
                loss = train_epoch(model, X_aug, y, step, 32, rng)
                if on_epoch_end:
                    on_epoch_end(epoch, model, loss)
            return model
    """
        },
    ),
    Mistake(
        "test_train_convnet",
        "train_convnet forgets to return the model",
        {
            "train_convnet": """
        def train_convnet(X, y, seed=0, on_epoch_end=None):
            rng = np.random.default_rng(seed)
            model = build_convnet(X.shape[1:], 10, (32, 32), rng=rng)
            state = {}
            for epoch in range(25):
                lr = 2e-3 * 0.5 * (1 + np.cos(np.pi * epoch / 25))
                loss = train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, lr), 32, rng)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, model, loss)
    """
        },
    ),
    Mistake(
        "test_train_convnet",
        "train_convnet learning rate far too large",
        {
            "train_convnet": """
        def train_convnet(X, y, seed=0, on_epoch_end=None):
            rng = np.random.default_rng(seed)
            model = build_convnet(X.shape[1:], 10, rng=rng)
            state = {}
            for epoch in range(10):
                loss = train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, 0.5), 32, rng)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, model, loss)
            return model
    """
        },
    ),
    Mistake(
        "test_train_convnet",
        "train_convnet short run without augmentation",
        {
            "train_convnet": """
        def train_convnet(X, y, seed=0, on_epoch_end=None):
            rng = np.random.default_rng(seed)
            model = build_convnet(X.shape[1:], 10, rng=rng)
            state = {}
            for epoch in range(8):
                loss = train_epoch(model, X, y, lambda p, g: adam_step(p, g, state, 3e-3), 32, rng)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, model, loss)
            return model
    """
        },
    ),
]
