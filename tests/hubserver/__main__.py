"""Run a loopback Hub by hand: `python -m tests.hubserver --scenario qwen_2509 --port 8123`.

Prints the endpoint on stdout (one line, for scripts and benchmarks), then serves until
interrupted. Use it with `HF_ENDPOINT=<url>` in a fresh process, or `HfApi(endpoint=url)`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import HubServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hubserver", description=__doc__)
    parser.add_argument("--scenario", required=True, help="scenario name or YAML/JSON file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--require-token", default=None, help="answer 401 without this token")
    args = parser.parse_args(argv)

    server = HubServer(
        args.scenario,
        host=args.host,
        port=args.port,
        latency_s=args.latency,
        page_size=args.page_size,
        require_token=args.require_token,
    ).start()
    print(server.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        stats = server.stats
        print(f"requests={len(stats.requests)} bytes_served={stats.bytes_served}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
