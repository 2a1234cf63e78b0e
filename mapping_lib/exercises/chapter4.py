"""Exercises of Chapter 4 (training in practice): steps per epoch, the smallest loss an
accuracy allows, one AdamW step, a warm-up schedule, a threshold at a required precision,
and two questions about imbalance and model selection."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import selection
from mapping_lib.exercises.registry import call_answer, callable_answer, close_to, exercise, number

GENERATOR = {"images": 60_000, "validation_split": 0.25, "flow_batch": 48, "fit_batch": 128}
ACCURACY = {"accuracy": 0.9, "classes": 10}
ADAMW_STEP = {"w": 0.5, "g": -0.01, "learning_rate": 0.01, "weight_decay": 0.1}
SCHEDULES = [  # (peak, warmup_steps, decay_steps, alpha)
    (0.1, 10, 90, 0.0),
    (3e-3, 50, 200, 0.01),
    (1.0, 1, 9, 0.5),
]


@exercise("4.1", "compute", "Steps per epoch with a validation split and a generator")
def _steps_per_epoch(answer: Any) -> tuple[bool, str]:
    """ceil(images * (1 - split) / flow_batch): fit's batch_size is ignored for generators."""
    value = number("4.1", answer)
    kept = GENERATOR["images"] * (1 - GENERATOR["validation_split"])
    expected = math.ceil(kept / GENERATOR["flow_batch"])
    if value == expected:
        return True, "that is the number of steps in one epoch"
    if value == math.ceil(GENERATOR["images"] / GENERATOR["flow_batch"]):
        return False, "that counts the validation images too: they are not trained on"
    if value in (math.ceil(kept / GENERATOR["fit_batch"]), kept / GENERATOR["fit_batch"]):
        return False, "the batches come from the generator: fit's batch_size is not used"
    if value == kept / GENERATOR["flow_batch"]:
        return False, "the last, smaller batch is a step too: round up"
    return False, close_to(value, expected)[1]


@exercise("4.2", "compute", "The smallest cross-entropy that an accuracy allows")
def _smallest_loss(answer: Any) -> tuple[bool, str]:
    """(1 - accuracy) * log 2: a wrong prediction gives the true class at most 1/2."""
    value = number("4.2", answer)
    wrong = 1 - ACCURACY["accuracy"]
    expected = wrong * math.log(2)
    correct, why = close_to(value, expected)
    if correct:
        return True, "that is the lower bound, and it is reached in the limit"
    if math.isclose(value, wrong * math.log(ACCURACY["classes"]), rel_tol=1e-3):
        return False, (
            f"{why}: a wrong prediction only needs another class at least as probable as "
            "the true one; how large can p_true then still be?"
        )
    if math.isclose(value, -math.log(ACCURACY["accuracy"]), rel_tol=1e-3):
        return False, f"{why}: the loss averages -log p_true over examples, not over accuracy"
    return False, why


def _adamw_after_one_step() -> float:
    w = tf.Variable([ADAMW_STEP["w"]], dtype=tf.float64)
    optimizer = keras.optimizers.AdamW(
        ADAMW_STEP["learning_rate"], weight_decay=ADAMW_STEP["weight_decay"]
    )
    optimizer.apply_gradients([(tf.constant([ADAMW_STEP["g"]], tf.float64), w)])
    return float(w.numpy()[0])


@exercise("4.3", "compute", "One AdamW step against one step of Adam with L2")
def _adamw_step(answer: Any) -> tuple[bool, str]:
    """(1 - eta * lambda) w - eta * sign(g), as Keras' AdamW computes it."""
    value = number("4.3", answer)
    w, g = ADAMW_STEP["w"], ADAMW_STEP["g"]
    eta, decay = ADAMW_STEP["learning_rate"], ADAMW_STEP["weight_decay"]
    expected = _adamw_after_one_step()
    if abs(value - expected) <= 1e-5:
        return True, "that is the weight after one AdamW step"
    coupled = w - eta * np.sign(g + decay * w)
    if abs(value - coupled) <= 1e-5:
        return False, "that is Adam with the decay added to the gradient (L2), not AdamW"
    if abs(value - (w - eta * np.sign(g))) <= 1e-5:
        return False, "that is Adam without any decay: AdamW also shrinks w itself"
    if abs(value - (w * (1 - eta * decay) - eta * g)) <= 1e-5:
        return False, "that is an SGD step: Adam's first step divides g by |g|"
    return False, close_to(value, expected, rel=0, abs_=1e-5)[1]


def _keras_schedule(peak: float, warmup: int, decay: int, alpha: float) -> Callable:
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=decay, alpha=alpha, warmup_target=peak, warmup_steps=warmup
    )


@exercise("4.4", "code", "Linear warm-up, then cosine decay")
def _warmup_cosine(answer: Any) -> tuple[bool, str]:
    """``warmup_cosine(step, peak, warmup_steps, decay_steps, alpha)`` against CosineDecay."""
    function = callable_answer("4.4", answer)
    for peak, warmup, decay, alpha in SCHEDULES:
        schedule = _keras_schedule(peak, warmup, decay, alpha)
        for step in sorted({0, warmup // 2, warmup, warmup + decay // 3, warmup + decay}):
            got, failure = call_answer("4.4", function, (step, peak, warmup, decay, alpha))
            case = f"step {step} of peak={peak}, warmup_steps={warmup}, decay_steps={decay}"
            if failure:
                return False, f"for {case}: {failure}"
            try:
                got = float(got)
            except (TypeError, ValueError):
                return False, f"for {case} your function returned {got!r}, not a number"
            expected = float(schedule(step))
            if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-9):
                phase = "warm-up" if step < warmup else "decay"
                return False, f"for {case} (the {phase} phase): {close_to(got, expected)[1]}"
    return True, f"your schedule matches Keras' CosineDecay for all {len(SCHEDULES)} settings"


def _threshold_cases() -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    labels = (rng.random(300) < 0.1).astype(int)
    scores = rng.normal(size=300) + 2.0 * labels
    ties = np.repeat([0.1, 0.4, 0.7, 0.9], 5)
    return {
        "a rare class (10 %) with overlapping scores, precision 0.5": (labels, scores, 0.5),
        "the same data, precision 0.8": (labels, scores, 0.8),
        "tied scores, precision 0.6": (np.tile([0, 1, 0, 1, 1], 4), ties, 0.6),
        "perfectly separated scores, precision 1": (
            np.array([0, 0, 0, 1, 1]),
            np.array([0.1, 0.2, 0.3, 0.8, 0.9]),
            1.0,
        ),
    }


@exercise("4.5", "code", "The threshold that meets a required precision")
def _threshold_code(answer: Any) -> tuple[bool, str]:
    """``threshold_at_precision(y_true, scores, min_precision)``: most recall at that precision."""
    function = callable_answer("4.5", answer)
    for case, (labels, scores, target) in _threshold_cases().items():
        got, failure = call_answer("4.5", function, (labels.copy(), scores.copy(), target))
        if failure:
            return False, f"for {case}: {failure}"
        try:
            got = float(got)
        except (TypeError, ValueError):
            return False, f"for {case} your function returned {got!r}, not a number"
        best = selection.threshold_at_precision(labels, scores, target)
        flagged = scores >= got
        precision = labels[flagged].mean() if flagged.any() else 0.0
        recall = flagged[labels == 1].mean()
        if precision < target:
            return False, f"for {case} your threshold gives precision {precision:.3f}"
        if recall < best.recall - 1e-12:
            return False, f"for {case} a lower threshold also meets the precision: more recall"
    return True, f"the threshold is right for all {len(_threshold_cases())} cases"


@exercise("4.6", "think", "What to report for a rare class")
def _rare_class() -> None:
    """Accuracy hides the rare class; report recall and precision (or the PR curve)."""


@exercise("4.7", "think", "Choices made on the test set")
def _test_set() -> None:
    """Every choice made on a set makes its score optimistic; the test set must stay unused."""
