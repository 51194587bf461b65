"""Realistic mistakes in 03-training, he_init, build_convnet: what learners write.

``core=True`` marks the mistakes an exercise exists to teach (the case its prose warns about and
the rows of issue 13 for this notebook): the public part of the test cell must catch them. The
other exercises' catalogues are the nb03_*.py modules beside this one.
"""

from realistic import Mistake, variant

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# he_init variance passed as the std
_HE_INIT_VARIANCE_PASSED_AS_STD = """
        def he_init(shape, fan_in, rng):
            return rng.normal(0.0, 2.0 / fan_in, size=shape)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# build_convnet ReLU after the score layer
_BUILD_CONVNET_RELU_AFTER_SCORE = """
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


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# build_convnet forgets that pooling halves H and W
_BUILD_CONVNET_FORGETS_THAT_POOLING = variant(
    _BUILD_CONVNET_RELU_AFTER_SCORE,
    (
        ("if rng is None:\n                rng = np.random.default_rng()\n"),
        "rng = np.random.default_rng() if rng is None else rng\n",
    ),
    ("                h, w = h // 2, w // 2\n", ""),
    ("list(hidden) + [num_classes]:", "hidden:"),
    (
        "d = m\n",
        (
            "d = m\n"
            "            fc = nn.Linear(d, num_classes)\n"
            '            fc.params["w"][...] = he_init(fc.params["w"].shape, d, rng)\n'
            "            layers.append(fc)\n"
        ),
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# build_convnet conv fan-in from the outputs F*3*3
_BUILD_CONVNET_CONV_FAN_FROM = variant(
    _BUILD_CONVNET_FORGETS_THAT_POOLING,
    ("c * 9,", "f * 3 * 3,"),
    (
        "layers.append(nn.MaxPool2d(2, stride=2))\n",
        ("layers.append(nn.MaxPool2d(2, stride=2))\n                h, w = h // 2, w // 2\n"),
    ),
)


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
        {"he_init": _HE_INIT_VARIANCE_PASSED_AS_STD},
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
            "he_init": variant(
                _HE_INIT_VARIANCE_PASSED_AS_STD,
                (
                    "rng.normal(0.0, 2.0 / fan_in, size=shape)",
                    "np.random.randn(*shape) * np.sqrt(2.0 / fan_in)",
                ),
            )
        },
    ),
    Mistake(
        "test_he_init",
        "he_init uniform numbers from rng.random",
        {
            "he_init": variant(
                _HE_INIT_VARIANCE_PASSED_AS_STD,
                (
                    "rng.normal(0.0, 2.0 / fan_in, size=shape)",
                    "rng.random(shape) * np.sqrt(2.0 / fan_in)",
                ),
            )
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
        {"build_convnet": _BUILD_CONVNET_RELU_AFTER_SCORE},
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet forgets that pooling halves H and W",
        {"build_convnet": _BUILD_CONVNET_FORGETS_THAT_POOLING},
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet conv fan-in from the outputs F*3*3",
        {"build_convnet": _BUILD_CONVNET_CONV_FAN_FROM},
        core=True,
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet conv fan-in C without the 3x3 window",
        {"build_convnet": variant(_BUILD_CONVNET_CONV_FAN_FROM, ("f * 3 * 3,", "c,"))},
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
            "build_convnet": variant(
                _BUILD_CONVNET_FORGETS_THAT_POOLING,
                (
                    "layers += [conv, nn.ReLU()]",
                    "layers += [conv, nn.ReLU(), nn.MaxPool2d(2, stride=2)]",
                ),
                ("layers.append(nn.MaxPool2d(2, stride=2))", "    h, w = h // 2, w // 2"),
            )
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet convolutions without padding",
        {
            "build_convnet": variant(
                _BUILD_CONVNET_FORGETS_THAT_POOLING,
                ("3, pad=1)", "3)"),
                (
                    "layers.append(nn.MaxPool2d(2, stride=2))\n",
                    (
                        "layers.append(nn.MaxPool2d(2, stride=2))\n"
                        "                h, w = h // 2, w // 2\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_build_convnet",
        "build_convnet keeps the input channels for every conv",
        {
            "build_convnet": variant(
                _BUILD_CONVNET_FORGETS_THAT_POOLING,
                ("                    c = f\n", ""),
                (
                    "layers.append(nn.MaxPool2d(2, stride=2))\n",
                    (
                        "layers.append(nn.MaxPool2d(2, stride=2))\n"
                        "                h, w = h // 2, w // 2\n"
                    ),
                ),
                ("d = c * h * w", "d = conv_channels[-1] * h * w"),
            )
        },
    ),
]
