"""The asyncio loop the REST server runs on (and the benchmarks' load generator)."""

import asyncio


def new_event_loop():
    """uvloop when installed (uvicorn[standard] pins it): a faster loop; plain asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
