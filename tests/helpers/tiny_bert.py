"""Builders for a tiny BERT the tests make themselves: vocab, config, data, checkpoint.

Random weights and a few hundred tokens keep train -> export -> serve in seconds.
"""

import csv
import json
import os
import random
import string

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a is it this that and or not no yes i you he she we they me my your "
    "good great fine lovely happy best nice love like win free prize call now "
    "bad awful terrible sad worst hate angry poor text stop reply urgent cash "
    "movie film food day night home work time today tomorrow txt msg ok lol "
    "run runn ##ing ##ed ##s ##ly ##er ##est un ##want want ##able able"
).split()
CHARS = string.ascii_lowercase + string.digits + string.punctuation + "£éüñßø中文字"

POSITIVE = ["good", "great", "lovely", "happy", "best", "nice", "love"]
NEGATIVE = ["bad", "awful", "terrible", "sad", "worst", "hate", "angry"]
FILLER = ["the", "movie", "film", "food", "day", "is", "was", "it", "this", "today", "very"]


def vocab_tokens():
    tokens = list(SPECIAL)
    for word in WORDS:
        if word not in tokens:
            tokens.append(word)
    for char in CHARS:
        for token in (char, "##" + char):
            if token not in tokens:
                tokens.append(token)
    return tokens


def write_vocab(path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_tokens()) + "\n")
    return path


def bert_config(vocab_size, hidden_size=32, num_layers=2, max_position_embeddings=64, hidden_act="gelu"):
    return {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": hidden_act,
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": hidden_size * 2,
        "max_position_embeddings": max_position_embeddings,
        "num_attention_heads": 2,
        "num_hidden_layers": num_layers,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }


def write_config(path, vocab_size, **overrides):
    with open(path, "w") as f:
        json.dump(bert_config(vocab_size, **overrides), f, indent=2)
    return path


def sentiment_rows(count, seed):
    """(label, text) rows a tiny model learns within a few steps."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        label = "pos" if i % 2 == 0 else "neg"
        key = rng.choice(POSITIVE if label == "pos" else NEGATIVE)
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
        words.insert(rng.randint(0, len(words)), key)
        rows.append((label, " ".join(words)))
    return rows


def write_tsv(path, rows, header=("label", "text")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_sentiment_dataset(data_dir, train=256, dev=16, test=16):
    """train/dev/test.tsv with a `label<TAB>text` header, like ../shared/data/sms_spam."""
    os.makedirs(data_dir, exist_ok=True)
    write_tsv(os.path.join(data_dir, "train.tsv"), sentiment_rows(train, seed=1))
    write_tsv(os.path.join(data_dir, "dev.tsv"), sentiment_rows(dev, seed=2))
    write_tsv(os.path.join(data_dir, "test.tsv"), sentiment_rows(test, seed=3))
    return data_dir


def read_sms_texts(sms_dir):
    texts = []
    for split in ("train", "dev", "test"):
        with open(os.path.join(sms_dir, split + ".tsv"), encoding="utf-8") as f:
            reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            texts.extend(row[1] for row in reader)
    return texts


def write_random_checkpoint(checkpoint_dir, bert_config_file):
    """A `bert_model.ckpt` with random weights, as a pretrained model would ship."""
    import tensorflow.compat.v1 as tf
    from bert import modeling

    config = modeling.BertConfig.from_json_file(bert_config_file)
    with tf.Graph().as_default():
        input_ids = tf.zeros([1, 4], tf.int32)
        modeling.BertModel(config=config, is_training=False, input_ids=input_ids)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            os.makedirs(checkpoint_dir, exist_ok=True)
            return tf.train.Saver().save(session, os.path.join(checkpoint_dir, "bert_model.ckpt"))


def run_options(files, output_dir, **overrides):
    """RunOptions for a fast fine-tune of the tiny BERT on the sentiment data."""
    from bert_runner.options import RunOptions

    settings = dict(
        task_name="generic",
        data_dir=files["data_dir"],
        vocab_file=files["vocab_file"],
        bert_config_file=files["bert_config_file"],
        output_dir=str(output_dir),
        max_seq_length=24,
        train_batch_size=8,
        eval_batch_size=8,
        predict_batch_size=8,
        learning_rate=1e-3,
        num_train_epochs=10.0,  # 320 steps: the tiny model reliably learns the keywords
        save_checkpoints_steps=1000,
        log_every_steps=1000,
        seed=7,
    )
    settings.update(overrides)
    return RunOptions(**settings)


# Tiny NER data: person and place names the tiny vocab spells letter by letter
# (their first pieces z/q/x/k, j/v never start a filler word), in filler sentences.
PERSONS = ["zed", "quinn", "xena", "kai"]
SURNAMES = ["lee", "kim"]
PLACES = ["jolo", "vik"]


def ner_sentences(count, seed):
    """[(token, IOB2 tag), ...] sentences a tiny model learns within a few hundred steps."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words = [(rng.choice(FILLER), "O") for _ in range(rng.randint(2, 6))]
        person = [(rng.choice(PERSONS), "B-per")]
        if rng.random() < 0.5:
            person.append((rng.choice(SURNAMES), "I-per"))
        at = rng.randint(0, len(words))
        words[at:at] = person
        if rng.random() < 0.6:
            # Anywhere but inside the person's name.
            at = rng.choice([i for i in range(len(words) + 1) if i == len(words) or words[i][1] != "I-per"])
            words.insert(at, (rng.choice(PLACES), "B-loc"))
        sentences.append(words)
    return sentences


def write_conll(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join("".join("%s\t%s\n" % pair for pair in sentence) + "\n" for sentence in sentences))
    return path


def write_ner_dataset(data_dir, train=160, dev=24, test=24):
    """train/dev/test.conll (token<TAB>tag, IOB2) in `data_dir`."""
    os.makedirs(data_dir, exist_ok=True)
    write_conll(os.path.join(data_dir, "train.conll"), ner_sentences(train, seed=11))
    write_conll(os.path.join(data_dir, "dev.conll"), ner_sentences(dev, seed=12))
    write_conll(os.path.join(data_dir, "test.conll"), ner_sentences(test, seed=13))
    return data_dir


# Tiny multi-label data: a text is `happy` when it holds a positive keyword, `sad` for a
# negative one and `food` when it says food; any set of the three, the empty one included.
MULTI_LABELS = ["food", "happy", "sad"]


def multi_label_rows(count, seed):
    """(comma-separated labels, text) rows a tiny model learns within a few hundred steps."""
    rng = random.Random(seed)
    filler = [word for word in FILLER if word != "food"]
    rows = []
    for _ in range(count):
        words = [rng.choice(filler) for _ in range(rng.randint(2, 6))]
        labels = []
        for label, p, keywords in (("food", 0.35, ["food"]), ("happy", 0.5, ["happy", "love"]), ("sad", 0.4, ["sad", "hate"])):
            if rng.random() < p:
                words.insert(rng.randint(0, len(words)), rng.choice(keywords))
                labels.append(label)
        rows.append((",".join(labels), " ".join(words)))
    return rows


def write_multi_label_dataset(data_dir, train=256, dev=32, test=16):
    """train/dev/test.tsv with a `labels<TAB>text` header."""
    os.makedirs(data_dir, exist_ok=True)
    for split, count, seed in (("train", train, 21), ("dev", dev, 22), ("test", test, 23)):
        write_tsv(os.path.join(data_dir, split + ".tsv"), multi_label_rows(count, seed), header=("labels", "text"))
    return data_dir


def run_options_like(options, **overrides):
    """A copy of RunOptions with some settings changed."""
    import dataclasses

    return dataclasses.replace(options, **overrides)
