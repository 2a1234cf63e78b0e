"""mapping_lib.metrics against scikit-learn on random labels and scores."""

import numpy as np
import pytest
import sklearn.metrics

from mapping_lib import metrics

CLASSES = 4


@pytest.fixture
def labels_and_logits():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, CLASSES, size=60)
    logits = rng.normal(size=(60, CLASSES))
    # Make most predictions right so every class has a mix of hits and misses.
    logits[np.arange(60), y_true] += rng.uniform(0, 2.5, size=60)
    return y_true, logits


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_accuracy_reads_labels_one_hot_logits_and_probabilities(labels_and_logits):
    y_true, logits = labels_and_logits
    predicted = logits.argmax(axis=1)
    expected = sklearn.metrics.accuracy_score(y_true, predicted)
    one_hot = np.eye(CLASSES)[y_true]
    assert 0.3 < expected < 1.0
    for true in (y_true, y_true[:, None], one_hot):
        for pred in (predicted, logits, softmax(logits)):
            assert metrics.accuracy(true, pred) == pytest.approx(expected)


def test_binary_scores_use_the_right_threshold():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, size=50)
    logits = rng.normal(size=(50, 1)) + (2 * y_true[:, None] - 1)
    probabilities = 1 / (1 + np.exp(-logits))
    expected = sklearn.metrics.accuracy_score(y_true, (logits[:, 0] > 0).astype(int))
    assert metrics.accuracy(y_true, probabilities) == pytest.approx(expected)
    assert metrics.accuracy(y_true.astype(float), probabilities[:, 0]) == pytest.approx(expected)
    assert metrics.accuracy(y_true, logits, from_logits=True) == pytest.approx(expected)
    # Logits thresholded at 0.5 would be a silent mistake: rejected instead.
    with pytest.raises(ValueError, match="outside \\[0, 1\\].*from_logits=True"):
        metrics.accuracy(y_true, logits)


def test_confusion_matrix_matches_sklearn(labels_and_logits):
    y_true, logits = labels_and_logits
    predicted = logits.argmax(axis=1)
    expected = sklearn.metrics.confusion_matrix(y_true, predicted, labels=range(CLASSES))
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, logits), expected)
    # Rows are true classes: row sums are the class counts.
    np.testing.assert_array_equal(expected.sum(axis=1), np.bincount(y_true, minlength=CLASSES))


def test_confusion_matrix_class_count():
    # Score columns show 5 classes even where the labels only reach 2.
    scores = np.zeros((3, 5))
    scores[[0, 1, 2], [0, 2, 1]] = 1
    assert metrics.confusion_matrix([0, 1, 2], scores).shape == (5, 5)
    assert metrics.confusion_matrix([0, 1, 2], [0, 1, 1]).shape == (3, 3)
    assert metrics.confusion_matrix([0, 1], [0, 1], num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="num_classes allows 2 classes, but the inputs show 3"):
        metrics.confusion_matrix([0, 1, 2], [0, 1, 1], num_classes=2)


def test_classification_report_matches_sklearn(labels_and_logits):
    y_true, logits = labels_and_logits
    names = ["ant", "bee", "cat", "dog"]
    report = metrics.classification_report(y_true, logits, class_names=names)
    expected = sklearn.metrics.classification_report(
        y_true, logits.argmax(axis=1), labels=range(CLASSES), target_names=names,
        output_dict=True, zero_division=0,
    )  # fmt: skip
    assert list(report) == list(expected)
    for key, value in expected.items():
        assert report[key] == pytest.approx(value), key


def test_classification_report_zero_division_is_zero():
    # Class 2 never occurs and class 1 is never predicted.
    y_true = [0, 0, 1, 1]
    y_pred = [0, 2, 0, 0]
    report = metrics.classification_report(y_true, y_pred)
    expected = sklearn.metrics.classification_report(
        y_true, y_pred, labels=range(3), output_dict=True, zero_division=0
    )
    for name in ("0", "1", "2", "macro avg", "weighted avg"):
        assert report[name] == pytest.approx(expected[name]), name
    assert report["1"]["precision"] == 0 and report["2"]["recall"] == 0
    assert report["2"]["f1-score"] == 0


def test_classification_report_prints_a_table(labels_and_logits):
    y_true, logits = labels_and_logits
    report = metrics.classification_report(y_true, logits, class_names=["a", "b", "c", "dog"])
    lines = str(report).splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    dog = next(line for line in lines if line.split()[:1] == ["dog"])
    scores = [f"{report['dog'][key]:.3f}" for key in ("precision", "recall", "f1-score")]
    assert dog.split()[1:] == [*scores, str(report["dog"]["support"])]
    assert any(line.split()[:2] == ["weighted", "avg"] for line in lines)
    assert f"{report['accuracy']:.3f}" in next(line for line in lines if "accuracy" in line)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: metrics.accuracy([0, 1, 1], [0, 1]), ValueError, "same number of examples"),
        (lambda: metrics.accuracy([0, -1], [0, 1]), ValueError, "y_true must hold non-negative"),
        (lambda: metrics.accuracy([0, 1.5], [0, 1]), ValueError, "integer class labels"),
        (lambda: metrics.accuracy([0, 1], [0, np.nan]), ValueError, "y_pred must contain only"),
        (lambda: metrics.accuracy(np.zeros((2, 2, 2)), [0, 1]), ValueError, "y_true must have"),
        (lambda: metrics.accuracy([], []), ValueError, "at least one example"),
        (lambda: metrics.accuracy(np.zeros((3, 0)), [0, 1, 1]), ValueError,
         r"y_true must hold a label or scores for each example, got shape \(3, 0\)"),
        (lambda: metrics.confusion_matrix([0, 1, 1], np.zeros((3, 0))), ValueError,
         r"y_pred must hold a label or scores for each example"),
        (lambda: metrics.classification_report(np.zeros((2, 0), int), [0, 1]), ValueError,
         "y_true must hold a label or scores"),
        (lambda: metrics.accuracy(["a"], [0]), TypeError, "y_true must be an array of numbers"),
        (lambda: metrics.accuracy([0], [0], from_logits=1), TypeError, "from_logits"),
        (lambda: metrics.confusion_matrix([0], [0], num_classes=0), ValueError, "num_classes"),
        (lambda: metrics.classification_report([0], [0], ["a", "a"]), ValueError, "distinct"),
        (lambda: metrics.classification_report([0], [0], "ab"), TypeError, "class_names"),
        (lambda: metrics.classification_report([0, 2], [0, 1], ["a", "b"]), ValueError,
         "class_names allows 2 classes"),
    ],
)  # fmt: skip
def test_bad_inputs_are_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()
