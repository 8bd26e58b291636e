#!/usr/bin/env python3
"""The Python baseline of the HTTP benchmark: N GET requests to URL, at most C in flight,
with asyncio + aiohttp (Debian's python3-aiohttp), one session (connection reuse), each body
read whole. Prints the seconds from the first request to the last response (interpreter
start-up excluded; the shell times the whole process too).

    http_aiohttp.py URL N C
"""
import asyncio
import sys
import time

import aiohttp


async def main(url, n, c):
    sem = asyncio.Semaphore(c)
    conn = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def one():
            async with sem:
                async with s.get(url) as r:
                    await r.read()
                    return r.status

        t0 = time.monotonic()
        codes = await asyncio.gather(*(one() for _ in range(n)))
        dt = time.monotonic() - t0
    bad = sum(1 for x in codes if x != 200)
    if bad:
        print("%d responses were not 200" % bad, file=sys.stderr)
        sys.exit(1)
    print("%.6f" % dt)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])), 120))
