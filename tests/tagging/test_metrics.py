"""The entity metric equals seqeval's strict IOB2 mode, invalid sequences included."""

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagging import TaggingError, entity_scores, format_report

TAGS = ["O", "B-per", "I-per", "B-loc", "I-loc", "B-creative-work", "I-creative-work"]

CASES = {
    "perfect": ([["B-per", "I-per", "O", "B-loc"]], [["B-per", "I-per", "O", "B-loc"]]),
    "boundary off by one": ([["B-per", "I-per", "O"]], [["B-per", "I-per", "I-per"]]),
    "wrong type": ([["B-per", "I-per"]], [["B-loc", "I-loc"]]),
    "stray I in prediction": ([["O", "B-per", "I-per"]], [["O", "I-per", "I-per"]]),
    "stray I in gold": ([["I-loc", "O", "B-per"]], [["B-loc", "O", "B-per"]]),
    "type switch inside": ([["B-per", "I-per", "I-per"]], [["B-per", "I-loc", "I-per"]]),
    "adjacent same type": ([["B-per", "B-per", "I-per"]], [["B-per", "I-per", "I-per"]]),
    "hyphenated type": ([["B-creative-work", "I-creative-work"]], [["B-creative-work", "O"]]),
    "nothing predicted": ([["B-per", "O"], ["B-loc"]], [["O", "O"], ["O"]]),
    "nothing in gold": ([["O", "O"]], [["B-per", "O"]]),
    "no entities at all": ([["O"], []], [["O"], []]),
    "several sentences": (
        [["B-per", "O"], ["B-loc", "I-loc", "O", "B-per"], ["O", "B-creative-work"]],
        [["B-per", "O"], ["B-loc", "O", "O", "B-per"], ["B-loc", "B-creative-work"]],
    ),
}


def seqeval_report(gold, predicted):
    seqeval = pytest.importorskip("seqeval")  # noqa: F841  (pinned in requirements.txt)
    from seqeval.metrics.v1 import precision_recall_fscore_support  # the strict-mode implementation
    from seqeval.scheme import IOB2

    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about 0/0 and sets 0, as we do
        for average in (None, "micro", "macro", "weighted"):
            results[average] = precision_recall_fscore_support(
                gold, predicted, average=average, mode="strict", scheme=IOB2
            )
    return results


def assert_equal_to_seqeval(gold, predicted):
    ours = entity_scores(gold, predicted)
    theirs = seqeval_report(gold, predicted)
    precision, recall, f1, support = theirs[None]
    assert len(ours["types"]) == len(precision)
    for i, label in enumerate(ours["types"]):
        got = ours["per_type"][label]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(
            (precision[i], recall[i], f1[i], support[i])
        ), label
    for average in ("micro", "macro", "weighted"):
        got = ours[average]
        # With no entity anywhere seqeval's macro average is NaN (a mean of nothing); ours is 0.
        expected = [0.0 if value != value else value for value in theirs[average]]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(expected), average


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_cases_equal_seqeval_strict(case):
    gold, predicted = CASES[case]
    assert_equal_to_seqeval(gold, predicted)


sentences = st.lists(st.lists(st.sampled_from(TAGS), max_size=8), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(sentences.flatmap(lambda gold: st.tuples(
    st.just(gold), st.tuples(*[st.lists(st.sampled_from(TAGS), min_size=len(s), max_size=len(s)) for s in gold]))))
def test_random_sequences_equal_seqeval_strict(pair):
    gold, predicted = pair
    assert_equal_to_seqeval(gold, [list(p) for p in predicted])


def test_hand_counted_example():
    gold, predicted = CASES["several sentences"]
    scores = entity_scores(gold, predicted)
    # gold: per x2, loc, creative-work; predicted: per x2, loc (wrong span), loc (spurious), creative-work.
    assert scores["micro"]["correct"] == 3 and scores["micro"]["predicted"] == 5 and scores["micro"]["support"] == 4
    assert scores["micro"]["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert scores["per_type"]["loc"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 2, "correct": 0}
    report = format_report(scores)
    assert "creative-work" in report and "micro avg" in report


def test_lengths_must_match():
    with pytest.raises(TaggingError, match="sentence 0 has 2 gold tags but 1 predicted"):
        entity_scores([["O", "O"]], [["O"]])
