"""bench/length_batches.py: batch composition figures (no training)."""

import pytest

import bench_modules  # tests/helpers

length_batches = bench_modules.load("length_batches")


def test_composition_figures_of_a_hand_made_stream():
    labels = [0, 0, 0, 1] * 4  # 16 examples, a quarter positive
    batches = [(5, [0, 1]), (9, [2, 3]), (7, [4, 5]), (3, [6, 7]), (4, [8, 9]), (4, [10, 11]), (6, [12, 13]),
               (8, [14, 15])]
    figures = length_batches.composition(batches, labels, batch_size=2, steps=2)
    assert figures["mean_padded_length"] == pytest.approx(46 / 8.0)
    # Batch shares: 0, .5 four times each; every batch 0.25 away from the data's share.
    assert figures["batch_share_sd"] == pytest.approx(0.25)
    assert figures["batches_without_positive"] == 0.5
    assert figures["window_share_max_gap"] == pytest.approx(0.0)  # 8 steps hold the whole data
    assert figures["first_steps_share"] == 0.25


@pytest.mark.needs_tf
def test_chunks_pad_less_than_shuffled_batches_and_buckets_starve_long_examples():
    lengths = [5 + i % 20 for i in range(192)] + [60 + i % 30 for i in range(64)]
    labels = [0] * 192 + [1] * 64
    shuffled = length_batches.composition(length_batches.batch_stream(lengths, labels, 1, 16, 2, seed=1), labels, 16, 8)
    chunks = length_batches.composition(length_batches.batch_stream(lengths, labels, 8, 16, 2, seed=1), labels, 16, 8)
    buckets = length_batches.composition(length_batches.batch_stream(lengths, labels, "buckets", 16, 2, seed=1),
                                         labels, 16, 8)
    assert chunks["mean_padded_length"] < 0.75 * shuffled["mean_padded_length"]
    assert chunks["first_steps_share"] == pytest.approx(0.25, abs=0.1)
    assert buckets["first_steps_share"] < 0.6 * 0.25  # long (positive) examples wait in their buckets
