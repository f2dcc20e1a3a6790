"""Following rollouts when they race the client's own reads (against the fake TF Serving, no sockets).

bench/soak.py --gateway (tests/bench/test_soak.py) saw legit requests fail with 404 "Servable not found
... Specific(m, 2)" after hot swaps: the gateway's watcher reload()s the client on a new version, which can
leave a second object of a version in place while requests encoded with the first are in flight, and
reading the latest version's metadata takes several calls that a rollout can overtake.
"""

import threading

from serving_client import Response


def swap_when(fake, predicate, action):
    """On the first request for which predicate(request) holds, run action() before the fake answers it."""
    done = threading.Event()

    def before(request):
        if not done.is_set() and predicate(request):
            done.set()
            action()
        return None

    fake.before = before
    return done


def is_text_predict(version):
    url = "/versions/%d:predict" % version
    return lambda r: r.method == "POST" and r.url.endswith(url) and r.json.get("signature_name") not in ("metadata", "vocab")


def test_a_request_of_a_replaced_model_object_follows_when_its_version_goes(make_client, fake):
    client = make_client()
    assert client.predict("good").label and client.model_version == 7

    def reload_then_swap():
        # While this request (encoded for the first version-7 object) is on its way: the gateway's
        # watcher reads version 7 again (a second object), then upstream swaps 7 for 8.
        client.reload()
        client.load()
        fake.version = 8

    swapped = swap_when(fake, is_text_predict(7), reload_then_swap)
    assert client.predict("good movie").label
    assert swapped.is_set() and client.model_version == 8
    assert [r.url for r in fake.requests if is_text_predict(8)(r)] == ["http://serving/v1/models/sms/versions/8:predict"]


def test_a_rollout_between_the_metadata_and_its_signatures_reads_the_latest_again(make_client, fake):
    def swap():
        fake.version = 8  # the metadata said 7; its `metadata` signature now answers 404

    reading_7 = lambda r: r.method == "POST" and r.url.endswith("/versions/7:predict") and r.json.get("signature_name") == "metadata"  # noqa: E731
    swapped = swap_when(fake, reading_7, swap)
    client = make_client()
    assert client.predict("good").label
    assert swapped.is_set() and client.model_version == 8


def test_a_model_that_keeps_moving_while_read_gives_up_with_the_404(make_client, fake):
    def before(request):
        if request.method == "POST" and request.json.get("signature_name") == "metadata":
            fake.version += 1  # every read of a version's signatures is overtaken by the next rollout
            return Response(404, json={"error": "Servable not found for request: Specific(sms, %d)" % (fake.version - 1)})
        return None

    fake.before = before
    client = make_client()
    try:
        client.load()
    except Exception as error:  # noqa: BLE001
        assert getattr(error, "status_code", None) == 404, error
    else:
        raise AssertionError("load() succeeded on a model that never held still")
    assert len(fake.metadata_requests()) == 3  # FETCH_ATTEMPTS reads of the latest, then the 404


def test_a_resend_overtaken_by_the_next_rollout_follows_again(make_client, fake):
    """Rollouts 2.5 s apart (the soak test's) can overtake a batch that waits long on a loaded machine."""
    client = make_client()
    client.load()

    def swap(request):
        if is_text_predict(fake.version)(request) and fake.version < 9:
            fake.version += 1  # this request's version is unloaded as it arrives: 7 -> 8, then its resend 8 -> 9
        return None

    fake.before = swap
    assert client.predict("good movie").label and client.model_version == 9
    texts = [r.url for r in fake.requests if r.method == "POST" and r.json.get("signature_name") not in ("metadata", "vocab")]
    assert [url.rsplit("/", 1)[1] for url in texts] == ["7:predict", "8:predict", "9:predict"]
