"""Entity-level precision, recall and F1: exact span and type, strict IOB2.

An entity counts as found only when a predicted entity has the same type, the
same first and the same last word as a gold one. Entities are read strictly
(`schemes.entities`: an `I-x` that starts nothing is no entity), so the
figures equal `seqeval`'s `mode="strict", scheme=IOB2` (the tests check it,
invalid sequences included): per type, micro (pooled counts), macro (mean over
the types in gold or predictions) and weighted (by support); a ratio with a
zero denominator is 0, as seqeval's default (also the macro average of no
types at all, where seqeval answers NaN, which JSON cannot hold).
"""

from typing import Dict, Sequence

from tagging.errors import TaggingError
from tagging.schemes import entities


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator else 0.0


def _scores(correct: int, predicted: int, gold: int) -> Dict:
    precision, recall = _ratio(correct, predicted), _ratio(correct, gold)
    return {
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "support": gold,
        "predicted": predicted,
        "correct": correct,
    }


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> Dict:
    """Scores of IOB2 tag sequences, one pair per sentence of equal length."""
    if len(gold) != len(predicted):
        raise TaggingError("%d gold sentences but %d predicted" % (len(gold), len(predicted)))
    gold_set, predicted_set = set(), set()
    for sentence, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise TaggingError(
                "sentence %d has %d gold tags but %d predicted" % (sentence, len(gold_tags), len(predicted_tags))
            )
        gold_set.update((sentence,) + tuple(e) for e in entities(gold_tags))
        predicted_set.update((sentence,) + tuple(e) for e in entities(predicted_tags))
    correct_set = gold_set & predicted_set
    types = sorted({e[1] for e in gold_set | predicted_set})

    def count(found, label):
        return sum(1 for e in found if e[1] == label)

    per_type = {label: _scores(count(correct_set, label), count(predicted_set, label), count(gold_set, label)) for label in types}
    micro = _scores(len(correct_set), len(predicted_set), len(gold_set))
    support = len(gold_set)
    return {
        "per_type": per_type,
        "micro": micro,
        "macro": _average(per_type, lambda s: 1.0, support),
        "weighted": _average(per_type, lambda s: s["support"], support),
        "types": types,
    }


def _average(per_type: Dict, weight, support: int) -> Dict:
    weights = {label: float(weight(s)) for label, s in per_type.items()}
    total = sum(weights.values())
    averaged = {
        name: _ratio(sum(weights[label] * s[name] for label, s in per_type.items()), total)
        for name in ("precision", "recall", "f1")
    }
    averaged["support"] = support
    return averaged


def format_report(scores: Dict, digits: int = 4) -> str:
    """A table like seqeval's classification_report: one row per type, then the averages."""
    rows = [(label, scores["per_type"][label]) for label in scores["types"]]
    rows += [("micro avg", scores["micro"]), ("macro avg", scores["macro"]), ("weighted avg", scores["weighted"])]
    width = max([len(name) for name, _ in rows] + [12])
    lines = ["%s %9s %9s %9s %9s" % ("".rjust(width), "precision", "recall", "f1", "support")]
    for index, (name, s) in enumerate(rows):
        if index == len(rows) - 3:
            lines.append("")
        lines.append(
            "%s %9.*f %9.*f %9.*f %9d"
            % (name.rjust(width), digits, s["precision"], digits, s["recall"], digits, s["f1"], s["support"])
        )
    return "\n".join(lines)

