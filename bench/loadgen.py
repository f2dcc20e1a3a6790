"""A closed-loop HTTP load generator for the serving benchmarks (loopback only).

One asyncio loop (uvloop when installed) writes pre-built HTTP/1.1 requests on
keep-alive connections and reads responses by Content-Length, so the load
generator costs the cores it shares with the server little (~0.05 ms of CPU a
request, against ~0.25 ms for `http.client` threads).
"""

import asyncio
import collections
import time

from model_server.event_loop import new_event_loop


def drive(port, path, bodies, concurrency, seconds, check=None):
    """Replay `bodies` (POSTed to `path`) from `concurrency` clients for `seconds`.

    Each client sends its next request when the last one is answered. Client i
    starts at a different offset of the cycle, so concurrent requests mix the
    bodies as real traffic does. A 200 is an error too when `check(i, payload)`
    (i: the index of the body sent) returns a message. Returns rps, latency
    percentiles (ms), errors (the first one and the commonest kinds) and the raw latencies.
    """
    requests = [b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (path.encode(), port, len(body), body) for body in bodies]
    latencies, errors = [], []
    stop_at = time.monotonic() + seconds

    async def client(offset):
        reader = writer = None
        index = offset
        while time.monotonic() < stop_at:
            sent = index % len(requests)
            request = requests[sent]
            index += 1
            started = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                status, payload = await _read_response(reader)
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError) as exc:
                if writer is not None:
                    writer.close()
                reader = writer = None
                status, payload = None, str(exc).encode()
            latencies.append(time.monotonic() - started)
            if status != 200:
                errors.append(payload[:200].decode("utf-8", "replace"))
            elif check is not None:
                wrong = check(sent, payload)
                if wrong:
                    errors.append(wrong[:200])
        if writer is not None:
            writer.close()

    async def all_clients():
        await asyncio.gather(*[client(i * len(bodies) // concurrency) for i in range(concurrency)])

    loop = new_event_loop()
    began = time.monotonic()
    try:
        loop.run_until_complete(all_clients())
    finally:
        loop.close()
    elapsed = time.monotonic() - began
    result = {"concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
              "rps": (len(latencies) - len(errors)) / elapsed}
    result.update(percentiles(latencies))
    result["first_error"] = errors[0] if errors else None
    # The commonest failures (first 100 characters), so a run with many tells what they were.
    result["error_kinds"] = dict(collections.Counter(error[:100] for error in errors).most_common(5))
    result["latencies_ms"] = [round(1000 * x, 3) for x in latencies]
    return result


async def _read_response(reader):
    """(status, body) of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


def percentiles(seconds_list):
    ordered = sorted(seconds_list)
    if not ordered:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None}

    def at(p):
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))]

    return {"p50_ms": at(50), "p90_ms": at(90), "p99_ms": at(99)}
