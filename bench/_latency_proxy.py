"""A TCP forwarder that delays every chunk by a fixed time each way, as a server in another zone or region would.

    python bench/_latency_proxy.py LISTEN_PORT TARGET_HOST:PORT DELAY_MS

Chunks are forwarded in order, each `DELAY_MS` after it arrived, without holding back the chunks behind it: a
pipelined or multiplexed connection (gRPC over HTTP/2) keeps many requests in flight through it, as on a real
network. Prints "ready" once listening. Used by bench/collectors.py to measure fetch concurrency over latency.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while chunk := await reader.read(1 << 16):
            queue.put_nowait((time.monotonic() + delay, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, b""))
    await asyncio.gather(sender, return_exceptions=True)


async def main(listen: int, target: str, delay_ms: float) -> None:
    host, _, port = target.rpartition(":")
    delay = delay_ms / 1000

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            _pipe(client_reader, server_writer, delay), _pipe(server_reader, client_writer, delay)
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3])))
