"""Model servers for tests: model_server.launch, logging under pytest's temporary directory.

    with running_server(["--model_name=m", "--model_base_path=/abs/m"], binary=impl) as server:
        requests.get(server.rest_url + "/v1/models/m")

`start_server(args, wait=False)` returns before the server serves, for tests of
what happens until then. The local server binds `auto` ports and reports them
in its --port_file, so no test picks a port that another process could take.
"""

import time

# Where servers log; tests/conftest.py points it at pytest's temporary directory.
LOG_DIR = None


def start_server(args, wait=True, timeout=60.0, **kwargs):
    from model_server import launch  # here: the client suite imports this module without model_server

    kwargs.setdefault("log_dir", LOG_DIR)
    server = launch.start_server(args, **kwargs)
    return server.wait_serving(timeout) if wait else server


def running_server(args, **kwargs):
    from model_server import launch

    kwargs.setdefault("log_dir", LOG_DIR)
    return launch.running_server(args, **kwargs)


def wait_for_log(server, text, timeout=60.0):
    """Waits until the server's log says `text`; fails if the server exits or stays silent."""
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert server.process.poll() is None, "server exited before logging %r:\n%s" % (text, server.log()[-4000:])
        assert time.monotonic() < deadline, "no %r in the server log after %.0f s:\n%s" % (text, timeout, server.log()[-4000:])
        time.sleep(0.05)


def concurrent_predict(url, bodies):
    """Every body POSTed at once (so a batching server can join them); (status, JSON) in order."""
    import threading

    import requests

    results = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(index):
        barrier.wait()
        response = requests.post(url, json=bodies[index], timeout=120)
        results[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
