#!/usr/bin/env python3
"""Keeps N logins in flight against a lophoc server for a while.

Each of the N clients logs in again and again with an account of its own
(the province's trainers, giangvien.xa1…) from a loopback address of its
own (127.0.0.2…), so that the login throttle, which counts per account and
per address, lets every attempt reach the password check. Prints the
successful logins per second and the answers by status.

    bench/logins.py BASE_URL SECONDS [N] [PASSWORD]
"""

import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def main():
    base, seconds = sys.argv[1], float(sys.argv[2])
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    password = sys.argv[4] if len(sys.argv) > 4 else "bench-password-1"
    url = urlsplit(base)
    deadline = time.monotonic() + seconds
    statuses = Counter()
    lock = threading.Lock()

    def client(n):
        body = json.dumps(
            {"email": f"giangvien.xa{n + 1}@province.lophoc.local", "password": password}
        )
        source = (f"127.0.{(n + 2) // 256}.{(n + 2) % 256}", 0)
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60, source_address=source)
            try:
                conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
                status = conn.getresponse().status
            except OSError as err:
                status = type(err).__name__
            finally:
                conn.close()
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = ", ".join(f"{count} × {status}" for status, count in sorted(statuses.items(), key=str))
    print(f"{statuses.get(200, 0) / seconds:.0f} logins/s (answers: {answers})")


if __name__ == "__main__":
    main()
