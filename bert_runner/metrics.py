"""Classification scores from a confusion matrix (rows: true label, columns: predicted)."""

import math
from typing import Dict, List, Sequence


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator else 0.0


def scores(confusion: Sequence[Sequence[float]], labels: Sequence[str]) -> Dict:
    """Accuracy, per-class precision/recall/F1/support, macro F1 and multiclass MCC."""
    n = len(labels)
    matrix = [[float(confusion[i][j]) for j in range(n)] for i in range(n)]
    total = sum(map(sum, matrix))
    true_counts = [sum(matrix[i]) for i in range(n)]
    predicted_counts = [sum(matrix[i][j] for i in range(n)) for j in range(n)]
    correct = sum(matrix[i][i] for i in range(n))

    per_class = {}
    for i, label in enumerate(labels):
        precision = _ratio(matrix[i][i], predicted_counts[i])
        recall = _ratio(matrix[i][i], true_counts[i])
        per_class[label] = {
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
            "support": int(true_counts[i]),
        }

    # Matthews correlation for K classes (Gorodkin 2004); equals the binary MCC for K = 2.
    covariance = correct * total - sum(t * p for t, p in zip(true_counts, predicted_counts))
    spread = math.sqrt(
        (total ** 2 - sum(p * p for p in predicted_counts)) * (total ** 2 - sum(t * t for t in true_counts))
    )
    return {
        "num_examples": int(total),
        "accuracy": _ratio(correct, total),
        "per_class": per_class,
        "macro_f1": _ratio(sum(c["f1"] for c in per_class.values()), n),
        "mcc": _ratio(covariance, spread),
        "labels": list(labels),
        "confusion_matrix": [[int(v) for v in row] for row in matrix],
    }


def format_confusion(confusion: List[List[int]], labels: Sequence[str]) -> str:
    """A small text table for logs and reports."""
    width = max([len(str(label)) for label in labels] + [len(str(v)) for row in confusion for v in row] + [4])
    lines = [" " * (width + 2) + " ".join(str(label).rjust(width) for label in labels) + "   <- predicted"]
    for label, row in zip(labels, confusion):
        lines.append(str(label).rjust(width) + "  " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
