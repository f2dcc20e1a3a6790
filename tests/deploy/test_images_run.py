"""Every image runs from exactly the files its Dockerfile copies.

For each Dockerfile target whose entry point is ours, the files its COPY
instructions bring into the application directory (following `COPY --from`
of earlier stages) are copied into an empty directory, and each entry point
runs there in the project's venv with the project out of the way: the
editable install's finder and the repository are off `sys.path`, and a
project package found anywhere but the image directory is an import error (a
package installed in the venv does not hide a missing COPY). The training
images fine-tune and export a tiny model (`--do_train --do_export`); every
image then imports every module of the packages it copies.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from deploy_files import REPO, read_text

# Top-level packages and scripts of this repository: in an image test they may come only from the image.
PROJECT = ["bert_contract", "bert_runner", "export", "featurizer", "heap_release", "model_server", "pretrained",
           "serving_client", "tagging", "text_api", "text_gateway", "text_lambda", "run_classifier", "run_ner", "bench", "scripts"]

# Runs in the image's interpreter before the entry point: the project off the path, then argv[1:]
# as `python ...` would run it (a script path, or -m module, or -c code).
BOOTSTRAP = r"""
import importlib.abc, importlib.machinery, os, runpy, sys
app, repo, project = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")
                    and "__editable__" not in type(f).__module__]
def in_repo(p):  # the venv's own site-packages may live inside the repository (.venv): it stays
    p, repo_dir, venv = os.path.realpath(p), os.path.realpath(repo), os.path.realpath(sys.prefix)
    return (p == repo_dir or p.startswith(repo_dir + os.sep)) and not (p == venv or p.startswith(venv + os.sep))
sys.path[:] = [app] + [p for p in sys.path if p and not in_repo(p)]

class OnlyFromImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in project or "." in name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [app])
        if spec is None:
            raise ModuleNotFoundError("No module named %r in the image (%s)" % (name, app), name=name)
        return spec

sys.meta_path.insert(0, OnlyFromImage())
os.chdir(sys.argv[4])
args = sys.argv[5:]
if args[0] == "-m":
    sys.argv = [args[1]] + args[2:]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
elif args[0] == "-c":
    sys.argv = ["-c"] + args[2:]
    exec(compile(args[1], "<image -c>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
"""

IMPORT_ALL = r"""
import os, pkgutil, sys, importlib
app = sys.path[0]
failed = []
for top in sorted(os.listdir(app)):
    if not os.path.isfile(os.path.join(app, top, "__init__.py")):
        continue
    importlib.import_module(top)
    for module in pkgutil.walk_packages([os.path.join(app, top)], top + "."):
        if module.name.endswith(".__main__"):  # an entry point: it would run
            continue
        try:
            importlib.import_module(module.name)
        except Exception as exc:
            failed.append("%s: %s: %s" % (module.name, type(exc).__name__, exc))
print("imported every module of", sorted(t for t in os.listdir(app) if not t.endswith(".py")))
sys.exit("\n".join(failed) if failed else 0)
"""


def instructions(dockerfile):
    """(stage name, instruction, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", read_text(dockerfile))
    stage = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            stage = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
        yield stage, word, rest.strip()


def copied_files(dockerfile, target, root):
    """{source path in the repo: path under the image's app directory `root`} for one target."""
    by_stage = {}
    stages = [stage for stage, word, _ in instructions(dockerfile) if word == "FROM"]
    target = target or stages[-1]  # a one-stage Dockerfile: its only (unnamed) stage
    for stage, word, rest in instructions(dockerfile):
        if word != "COPY":
            continue
        words = shlex.split(rest)
        options = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        sources, dest = paths[:-1], paths[-1]
        origin = next((o.split("=", 1)[1] for o in options if o.startswith("--from=")), None)
        by_stage.setdefault(stage, []).append((origin, sources, dest))

    def resolve(stage):
        files = {}
        for origin, sources, dest in by_stage.get(stage, []):
            if origin is not None:  # COPY --from=<stage> /app/ /app/: that stage's files
                files.update(resolve(origin))
                continue
            if not dest.startswith(root):
                continue  # requirements files and the like, outside the application
            for source in sources:
                if os.path.isdir(os.path.join(REPO, source)):
                    files[source.rstrip("/")] = (dest[len(root):].rstrip("/") or os.path.basename(source.rstrip("/")))
                else:
                    relative = dest[len(root):]
                    files[source] = relative + os.path.basename(source) if relative.endswith("/") or not relative \
                        else relative
        return files

    return resolve(target)


def build_app(tmp_path, dockerfile, target, root):
    app = tmp_path / "app"
    app.mkdir()
    files = copied_files(dockerfile, target, root)
    assert files, "%s target %s copies nothing into %s" % (dockerfile, target, root)
    for source, dest in files.items():
        path = os.path.join(REPO, source)
        if os.path.isdir(path):
            shutil.copytree(path, str(app / dest), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (app / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, str(app / dest))
    return str(app)


def run_in_image(python, app, workdir, *argv, timeout=600):
    result = subprocess.run([python, "-c", BOOTSTRAP, app, REPO, ",".join(PROJECT), workdir] + list(argv),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            timeout=timeout, env=dict(os.environ, PYTHONPATH="", PYTHONDONTWRITEBYTECODE="1"))
    return result.returncode, result.stdout


def venv_python(name):
    python = os.path.join(REPO, name, "bin", "python")
    if not os.path.exists(python):
        pytest.skip("%s is not set up" % name)
    return python


def test_copy_parser_follows_stages_and_roots():
    files = copied_files("Dockerfile.train", "train-cpu", "/app/")
    assert files["run_classifier.py"] == "run_classifier.py" and files["bert_runner"] == "bert_runner"
    assert "requirements.txt" not in files
    assert copied_files("Dockerfile.lambda", None, "${LAMBDA_TASK_ROOT}/")["text_lambda"] == "text_lambda"
    assert copied_files("Dockerfile.train", "train-gpu", "/app/")["run_ner.py"] == "run_ner.py"


@pytest.mark.needs_tf
@pytest.mark.parametrize("target", ["train-cpu", "train-gpu"])
def test_training_image_trains_exports_and_imports_everything(target, tmp_path, tiny_model_files):
    python = sys.executable  # the TF 1.15 venv: the train-cpu image's environment
    app = build_app(tmp_path, "Dockerfile.train", target, "/app/")
    entry = [w for w in re.findall(r'"([^"]+)"', [r for s, w, r in instructions("Dockerfile.train")
                                                  if s == target and w == "ENTRYPOINT"][0])]
    script = entry[entry.index("python") + 1].replace("/app/", app + "/")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    output_dir = str(workspace / "run")
    code, log = run_in_image(python, app, str(workspace), script, "--task_name=generic", "--do_train",
                             "--do_export", "--data_dir=" + tiny_model_files["data_dir"],
                             "--vocab_file=" + tiny_model_files["vocab_file"],
                             "--bert_config_file=" + tiny_model_files["bert_config_file"],
                             "--output_dir=" + output_dir, "--export_dir=" + str(workspace / "export"),
                             "--max_seq_length=24", "--train_batch_size=8", "--num_train_epochs=0.25",
                             "--export_collapsed_model")
    assert code == 0, log[-4000:]
    versions = [n for n in os.listdir(str(workspace / "export")) if n.isdigit()]
    assert len(versions) == 1 and os.path.isfile(str(workspace / "export" / versions[0] / "saved_model.pb"))
    # The NER entry point is in the image too (docker run --entrypoint python IMAGE /app/run_ner.py ...).
    code, log = run_in_image(python, app, str(workspace), os.path.join(app, "run_ner.py"), "--helpfull")
    assert code in (0, 1) and "--do_train" in log and "Traceback" not in log, log[-3000:]  # absl: help exits 1
    code, log = run_in_image(python, app, str(workspace), "-c", IMPORT_ALL)
    assert code == 0, log[-4000:]


@pytest.mark.parametrize("dockerfile, root, entry", [
    ("Dockerfile.gateway", "/app/", ["-m", "text_gateway", "--help"]),
    ("Dockerfile.lambda", "${LAMBDA_TASK_ROOT}/", ["-c", "import text_lambda.handler as h; assert callable(h.handler)"]),
])
def test_client_images_run_and_import_everything(dockerfile, root, entry, tmp_path):
    python = venv_python(".venv-client")  # Python 3.11 with the gateway and Lambda requirements
    app = build_app(tmp_path, dockerfile, None, root)
    code, log = run_in_image(python, app, str(tmp_path), *entry)
    assert code == 0, log[-4000:]
    code, log = run_in_image(python, app, str(tmp_path), "-c", IMPORT_ALL)
    assert code == 0, log[-4000:]


def test_a_missing_copy_is_caught(tmp_path):
    """The check can fail: without bert_contract the training entry point cannot import its runner."""
    app = build_app(tmp_path, "Dockerfile.train", "train-cpu", "/app/")
    shutil.rmtree(os.path.join(app, "bert_contract"))
    code, log = run_in_image(sys.executable, app, str(tmp_path), "-c", "import bert_runner.storage")
    assert code != 0 and "No module named 'bert_contract' in the image" in log, log[-2000:]
