"""The Lambda handler's configuration errors (one line, never a traceback), and the emulator's log."""

import json
import logging
import os
import subprocess
import sys
import tempfile

import pytest

from text_lambda import handler as handler_module

from lambda_events import v2_event  # tests/serverless

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def environment(monkeypatch):
    """handler() with a fresh cold start and only the given variables of the function's environment."""
    for name in ("BACKEND", "MODEL_NAME", "MODEL_DIR", "PREDICTOR_URL", "ONNX_THREADS", "PREDICTOR_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(handler_module, "_BACKEND", None)

    def set_environment(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_environment


@pytest.mark.parametrize("variables, message", [
    ({"BACKEND": "tfserving", "MODEL_NAME": "m"}, "BACKEND=tfserving: expected one of proxy, onnx"),
    ({"BACKEND": "onnx", "MODEL_NAME": "m"}, "BACKEND=onnx: set MODEL_DIR in the function's environment"),
    ({"MODEL_NAME": "m", "PREDICTOR_URL": "tfs.internal:8501"},
     "PREDICTOR_URL=tfs.internal:8501: give the model server as http://host:port, https://host:port or grpc://host:port"),
    ({"MODEL_NAME": "m", "PREDICTOR_URL": "http://tfs:8501", "PREDICTOR_TIMEOUT_SECONDS": "soon"},
     "PREDICTOR_TIMEOUT_SECONDS=soon: expected a number of seconds"),
])
def test_a_configuration_error_is_one_line_in_the_log_and_the_answer(environment, caplog, variables, message):
    environment(**variables)
    with caplog.at_level(logging.ERROR, logger="text_lambda"):
        direct = handler_module.handler({"texts": ["a"]})
        http = handler_module.handler(v2_event("GET", "/v1/models/m"))
    assert direct == {"error": "configuration error: " + message, "status": 500}
    assert http["statusCode"] == 500 and json.loads(http["body"])["error"] == "configuration error: " + message
    assert [r.getMessage() for r in caplog.records] == ["configuration error: " + message] * 2
    assert all(r.exc_info is None for r in caplog.records)


def test_model_dir_at_the_version_directory_names_its_onnx_directory(environment, tmp_path):
    version = tmp_path / "export" / "3"
    (version / "onnx").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    (version / "onnx" / "model_info.json").write_text("{}")
    pytest.importorskip("onnxruntime", reason="the onnx backend's packages are not installed (make setup-lambda)")
    environment(BACKEND="onnx", MODEL_NAME="m", MODEL_DIR=str(version))
    answer = handler_module.handler({"texts": ["a"]})
    assert answer == {"status": 500, "error": "configuration error: MODEL_DIR=%s is an export's version directory; "
                                              "set MODEL_DIR=%s/onnx" % (version, version)}
    environment(MODEL_DIR=str(tmp_path / "nowhere"))
    assert "MODEL_DIR=%s: no such directory" % (tmp_path / "nowhere") in handler_module.handler({"texts": ["a"]})["error"]


def test_the_emulator_logs_outside_the_working_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "text_lambda.emulator", "--rie", "/bin/true", '{"texts": ["a"]}'],
                            cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode != 0  # /bin/true is no emulator
    assert os.listdir(str(tmp_path)) == []
    line = next(line for line in result.stderr.splitlines() if "the emulator's log:" in line)
    log = line.split("the emulator's log: ", 1)[1]
    assert os.path.dirname(log) == tempfile.gettempdir() and os.path.exists(log)
    os.remove(log)
