"""The bundled NER demo data (data/ner_demo) is what its generator writes, and reads cleanly."""

import os
import subprocess
import sys

from tagging import read_conll, training_tags

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_DIR = os.path.join(REPO, "data", "ner_demo")


def test_every_split_reads_with_four_entity_types():
    for split, minimum in (("train", 300), ("dev", 60), ("test", 60)):
        sentences = read_conll(os.path.join(DEMO_DIR, split + ".conll"))
        assert len(sentences) >= minimum
        assert training_tags(sentences) == [
            "O", "B-location", "I-location", "B-order", "I-order", "B-person", "I-person", "B-product", "I-product"]


def test_the_generator_rewrites_the_same_files(tmp_path):
    script = os.path.join(REPO, "scripts", "make_ner_demo_data.py")
    copy = tmp_path / "scripts"
    copy.mkdir()
    (copy / "make_ner_demo_data.py").write_text(open(script, encoding="utf-8").read(), encoding="utf-8")
    subprocess.run([sys.executable, str(copy / "make_ner_demo_data.py")], check=True, stdout=subprocess.PIPE)
    for split in ("train", "dev", "test"):
        with open(os.path.join(DEMO_DIR, split + ".conll"), "rb") as f, open(tmp_path / "data" / "ner_demo" / (split + ".conll"), "rb") as g:
            assert f.read() == g.read(), split
