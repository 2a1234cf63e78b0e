"""Chapter 4's exercises: model solutions pass, typical mistakes fail with a useful message that
does not give the answer away, malformed answers raise, None and think exercises are not judged."""

import math

import numpy as np
import pytest

import mapping_lib.exercises.chapter4 as ch4
from mapping_lib.exercises.registry import EXERCISES, check


def warmup_cosine(step, peak, warmup_steps, decay_steps, alpha):
    if step < warmup_steps:
        return peak * step / warmup_steps
    t = min(step - warmup_steps, decay_steps) / decay_steps
    return peak * (alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * t)))


def threshold_at_precision(y_true, scores, min_precision):
    best = None
    for t in np.unique(scores):
        flagged = scores >= t
        precision, recall = y_true[flagged].mean(), flagged[y_true == 1].mean()
        if precision >= min_precision and (best is None or recall > best[1]):
            best = (t, recall)
    return best[0]


SOLUTIONS = {
    "4.1": math.ceil(60_000 * 0.75 / 48),
    "4.2": 0.1 * math.log(2),
    "4.3": 0.5 * (1 - 0.01 * 0.1) + 0.01,
    "4.4": warmup_cosine,
    "4.5": threshold_at_precision,
}


def test_chapter_4_has_seven_exercises_of_all_kinds():
    ids = [key for key in EXERCISES if key.startswith("4.")]
    assert ids == [f"4.{k}" for k in range(1, 8)]
    kinds = [EXERCISES[key].kind for key in ids]
    assert all(kinds.count(kind) >= 2 for kind in ("compute", "code", "think"))


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_model_solutions_pass(key):
    verdict = check(key, SOLUTIONS[key])
    assert verdict.correct, verdict.message


@pytest.mark.parametrize(
    ("key", "answer", "hint"),
    [
        ("4.1", math.ceil(60_000 / 48), "validation images"),
        ("4.1", math.ceil(45_000 / 128), "batch_size is not used"),
        ("4.1", 45_000 / 48, "round up"),
        ("4.2", 0.1 * math.log(10), "at least as probable"),
        ("4.2", -math.log(0.9), "averages"),
        ("4.3", 0.5 - 0.01, "L2"),
        ("4.3", 0.5 + 0.01, "without any decay"),
        ("4.3", 0.5 * (1 - 0.001) + 0.01 * 0.01, "SGD"),
    ],
)
def test_typical_mistakes_get_a_hint(key, answer, hint):
    verdict = check(key, answer)
    assert verdict.correct is False and hint in verdict.message
    assert f"{SOLUTIONS[key]:g}" not in verdict.message


def test_wrong_functions_fail_with_the_case():
    def no_warmup(step, peak, warmup_steps, decay_steps, alpha):
        return warmup_cosine(step + warmup_steps, peak, warmup_steps, decay_steps, alpha)

    verdict = check("4.4", no_warmup)
    assert verdict.correct is False and "warm-up phase" in verdict.message
    verdict = check("4.4", lambda step, peak, warmup_steps, decay_steps, alpha: None)
    assert verdict.correct is False and "returned None" in verdict.message

    def too_high(y_true, scores, min_precision):
        return float(np.max(scores))

    verdict = check("4.5", too_high)
    assert verdict.correct is False and "lower threshold" in verdict.message
    verdict = check("4.5", lambda y_true, scores, min_precision: float(np.min(scores) - 1))
    assert verdict.correct is False and "precision" in verdict.message
    verdict = check("4.5", lambda y_true, scores, min_precision: 1 / 0)
    assert verdict.correct is False and "ZeroDivisionError" in verdict.message


def test_malformed_answers_raise_and_none_waits():
    with pytest.raises(TypeError, match="4.1"):
        check("4.1", "938")
    with pytest.raises(TypeError, match="function"):
        check("4.4", 0.1)
    with pytest.raises(TypeError, match="3 argument"):
        check("4.5", lambda y_true: 0.0)
    assert check("4.2", None).correct is None
    assert check("4.6", "anything").correct is None
    assert check("4.7", None).correct is None


def test_the_module_constants_match_the_statements():
    assert ch4.GENERATOR == {
        "images": 60_000,
        "validation_split": 0.25,
        "flow_batch": 48,
        "fit_batch": 128,
    }
    assert ch4.ADAMW_STEP == {"w": 0.5, "g": -0.01, "learning_rate": 0.01, "weight_decay": 0.1}
