#!/usr/bin/env python
"""Writes data/ner_demo/: support-desk sentences with people, places, products and order numbers.

    python scripts/make_ner_demo_data.py        (deterministic: the committed files)

Every sentence comes from this file's own templates and name lists (invented
products, common first and last names, city names), so the data is the
project's to license (see data/ner_demo/README.md). Tokens are split as the
tokenizer splits words (punctuation apart), so each word the client sees was
a labelled word in training. Tags are IOB2 over four types.
"""

import os
import random
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "data", "ner_demo")

FIRST = ["Anna", "Ben", "Carla", "David", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena",
         "Marco", "Nadia", "Oscar", "Priya", "Rosa", "Sven", "Tomas", "Yuki", "Zoe", "Amir", "Bea", "Chen"]
LAST = ["Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen", "Kowalski",
        "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Santos", "Tanaka", "Weber", "Yilmaz"]
PLACES = ["Lisbon", "Oslo", "Berlin", "Madrid", "Vienna", "Prague", "Dublin", "Warsaw", "Lyon", "Porto",
          "Hamburg", "Milan", "Zurich", "Krakow", "Seville", "Rotterdam", "Gothenburg", "Turin", "New York", "San Diego"]
PRODUCTS = ["Nimbus 300 router", "AquaPure kettle", "Vela X2 headphones", "Orbit smart lamp", "Kestrel laptop stand",
            "Tundra Pro backpack", "Lumo desk fan", "Helix 5 keyboard", "Pebble mini speaker", "Solace air purifier",
            "Ferro coffee grinder", "Quill tablet pen", "Atlas Go charger", "Breeze heater", "Cobalt webcam"]

# {person} {place} {product} {order}: filled from the lists above.
TEMPLATES = [
    "Hi , this is {person} and my order {order} has not arrived yet .",
    "{person} from {place} asked about the {product} .",
    "The {product} I bought in {place} stopped working after a week .",
    "Please send the replacement for order {order} to our office in {place} .",
    "Can {person} get a refund for the {product} ?",
    "Order {order} was shipped to {place} instead of {place} .",
    "My colleague {person} says the {product} makes a strange noise .",
    "I am writing from {place} about order {order} .",
    "Is the {product} available in {place} ?",
    "{person} returned the {product} last Monday , order {order} .",
    "Thanks {person} , the {product} works fine now .",
    "We moved to {place} , please update the address for order {order} .",
    "The courier in {place} lost my {product} .",
    "Could you ask {person} to call me back about order {order} ?",
    "Both {person} and {person} ordered a {product} .",
    "The invoice for {order} lists a {product} I never ordered .",
    "How long does delivery to {place} take ?",
    "I want to cancel order {order} , it is a duplicate .",
    "Your store in {place} told {person} to contact support .",
    "The {product} battery lasts only two hours .",
    "Nothing works , please help !",
    "Where can I find the manual ?",
]
TYPES = {"person": "person", "place": "location", "product": "product", "order": "order"}
_PUNCT = re.compile(r"(\W)")


def split_words(text):
    """Whitespace, then punctuation apart, as the tokenizer splits words."""
    return [piece for word in text.split() for piece in _PUNCT.split(word) if piece.strip()]


def fill(template, rng):
    tokens = []
    for part in re.split(r"(\{\w+\})", template):
        slot = part[1:-1] if part.startswith("{") else None
        if slot is None:
            tokens += [(word, "O") for word in split_words(part)]
            continue
        if slot == "person":
            value = rng.choice(FIRST) + (" " + rng.choice(LAST) if rng.random() < 0.6 else "")
        elif slot == "place":
            value = rng.choice(PLACES)
        elif slot == "product":
            value = rng.choice(PRODUCTS)
        else:
            value = "%s%d" % (rng.choice("ABCKR"), rng.randint(10000, 99999))
        words = split_words(value)
        tokens += [(word, ("B-" if i == 0 else "I-") + TYPES[slot]) for i, word in enumerate(words)]
    return tokens


def sentences(count, seed):
    rng = random.Random(seed)
    return [fill(rng.choice(TEMPLATES), rng) for _ in range(count)]


def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for sentence in rows:
            f.write("".join("%s\t%s\n" % pair for pair in sentence) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write(os.path.join(OUT, "train.conll"), sentences(320, seed=1))
    write(os.path.join(OUT, "dev.conll"), sentences(80, seed=2))
    write(os.path.join(OUT, "test.conll"), sentences(80, seed=3))
    print("wrote train/dev/test.conll in %s" % os.path.relpath(OUT, REPO))


if __name__ == "__main__":
    main()
