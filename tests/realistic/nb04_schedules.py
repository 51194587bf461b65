"""Realistic learner mistakes in 04-hyperparameters' ``warmup_cosine`` (see ``__init__.py``)."""

from __future__ import annotations

from realistic import Mistake, variant

HEAD = """
import math

def warmup_cosine(step, total_steps, *, base_lr, warmup_steps, min_lr=0.0):
    if not 0 <= step < total_steps:
        raise ValueError("step out of range")
"""

_ANSWER = """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""


WARMUP_FROM_ZERO = HEAD + _ANSWER

_ANSWER_2 = variant(
    _ANSWER,
    ("return base_lr * step / warmup_steps", "return base_lr * (step + 1) / warmup_steps"),
    ("1 - warmup_steps)", "warmup_steps)"),
)


DECAY_OVER_T_MINUS_W = HEAD + _ANSWER_2

PROGRESS_OVER_TOTAL = HEAD + variant(
    _ANSWER_2, ("(step - warmup_steps) / (total_steps - warmup_steps)", "step / (total_steps - 1)")
)

_ANSWER_3 = variant(
    _ANSWER,
    ("return base_lr * step / warmup_steps", "return base_lr * (step + 1) / warmup_steps"),
    ("min_lr + 0.5 * (base_lr - min_lr)", "0.5 * base_lr"),
)


FLOOR_IGNORED = HEAD + _ANSWER_3

FULL_COSINE_WAVE = HEAD + variant(
    _ANSWER_3,
    (
        "0.5 * base_lr * (1 + math.cos(math.pi",
        "min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(2 * math.pi",
    ),
)

WARMUP_FROM_MIN_LR = HEAD + variant(
    _ANSWER, ("base_lr * step", "min_lr + (base_lr - min_lr) * (step + 1)")
)

WARMUP_INCLUSIVE = HEAD + variant(
    _ANSWER,
    ("if step < warmup_steps:", "if step <= warmup_steps:"),
    ("step / warmup_steps", "(step + 1) / (warmup_steps + 1)"),
)

T = "test_warmup_cosine"
MISTAKES = [
    Mistake(T, "warm-up starts at lr 0 (step / W)", {"warmup_cosine": WARMUP_FROM_ZERO}, core=True),
    Mistake(T, "decay divided by T - W", {"warmup_cosine": DECAY_OVER_T_MINUS_W}, core=True),
    Mistake(T, "decay progress counted from step 0", {"warmup_cosine": PROGRESS_OVER_TOTAL}),
    Mistake(T, "decay ends at 0, min_lr ignored", {"warmup_cosine": FLOOR_IGNORED}, core=True),
    Mistake(T, "a full cosine wave (2 pi)", {"warmup_cosine": FULL_COSINE_WAVE}),
    Mistake(T, "warm-up from min_lr", {"warmup_cosine": WARMUP_FROM_MIN_LR}),
    Mistake(T, "warm-up includes step W", {"warmup_cosine": WARMUP_INCLUSIVE}),
]
