"""The peer for `make bench-gateway`: a python-socketio server on aiohttp
(the earlier Python version's stack), one process, default asyncio loop.

  socketio_echo.py PORT   (0: a free port) -> prints "listening PORT"

Every `echo` event is emitted back to the socket that sent it, so a client
speaking Engine.IO v4 / Socket.IO v5 over a raw WebSocket sends
42["echo",DATA] and reads 42["echo",DATA] back.
"""
import asyncio
import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)


@sio.on("echo")
async def echo(sid, data):
    await sio.emit("echo", data, to=sid)


async def main(port):
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print("listening", site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    except KeyboardInterrupt:
        pass
