"""Realistic learner mistakes in 04-hyperparameters' ``warmup_cosine`` (see ``__init__.py``)."""

from __future__ import annotations

from realistic import Mistake

HEAD = """
import math

def warmup_cosine(step, total_steps, *, base_lr, warmup_steps, min_lr=0.0):
    if not 0 <= step < total_steps:
        raise ValueError("step out of range")
"""

WARMUP_FROM_ZERO = (
    HEAD
    + """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""
)

DECAY_OVER_T_MINUS_W = (
    HEAD
    + """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""
)

PROGRESS_OVER_TOTAL = (
    HEAD
    + """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t = step / (total_steps - 1)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""
)

FLOOR_IGNORED = (
    HEAD
    + """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return 0.5 * base_lr * (1 + math.cos(math.pi * t))
"""
)

FULL_COSINE_WAVE = (
    HEAD
    + """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(2 * math.pi * t))
"""
)

WARMUP_FROM_MIN_LR = (
    HEAD
    + """
    if step < warmup_steps:
        return min_lr + (base_lr - min_lr) * (step + 1) / warmup_steps
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""
)

WARMUP_INCLUSIVE = (
    HEAD
    + """
    if step <= warmup_steps:
        return base_lr * (step + 1) / (warmup_steps + 1)
    t = (step - warmup_steps) / (total_steps - 1 - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))
"""
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
