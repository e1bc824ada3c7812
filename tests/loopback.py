"""A loopback HTTP server for the download tests: 127.0.0.1 only, proxies bypassed."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator

import pytest

_PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@contextlib.contextmanager
def serving(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yield the base URL.

    The environment's proxies are bypassed for the block (a proxy would send the request off
    this machine). Handler threads are daemons: a client that hangs up on an endless body does
    not keep the server from closing.
    """
    with pytest.MonkeyPatch.context() as env:
        for name in _PROXY_VARIABLES:
            env.delenv(name, raising=False)
        env.setenv("no_proxy", "127.0.0.1,localhost")
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join()
