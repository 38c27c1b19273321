"""The peer for `make bench-llm`: OpenAI's official Python SDK reading the
same streams from the benchmark's local server, measured the same way.

  openai_peer.py latency BASE_URL      -> JSON list of per-token delays (ns)
  openai_peer.py throughput BASE_URL N -> JSON {"tokens": T, "seconds": S}

Each streamed token's text is the CLOCK_MONOTONIC time (ns) at which the
server wrote it; the delay is the time it reached this program's code.
"""
import asyncio
import json
import sys
import time

from openai import AsyncOpenAI, OpenAI

mode, base = sys.argv[1], sys.argv[2]
messages = [{"role": "user", "content": "go"}]

if mode == "latency":
    client = OpenAI(base_url=base, api_key="sk-bench", max_retries=0)
    delays = []
    stream = client.chat.completions.create(model="latency", messages=messages, stream=True,
                                            stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            delays.append(time.monotonic_ns() - int(chunk.choices[0].delta.content))
    print(json.dumps(delays))
else:
    streams = int(sys.argv[3])

    async def one(client):
        count = 0
        stream = await client.chat.completions.create(model="throughput", messages=messages, stream=True,
                                                      stream_options={"include_usage": True})
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
        return count

    async def main():
        import httpx
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        client = AsyncOpenAI(base_url=base, api_key="sk-bench", max_retries=0,
                             http_client=httpx.AsyncClient(limits=limits, timeout=120))
        start = time.monotonic()
        counts = await asyncio.gather(*(one(client) for _ in range(streams)))
        print(json.dumps({"tokens": sum(counts), "seconds": time.monotonic() - start}))

    asyncio.run(main())
