"""TCP server, asynchronous: the course's server written
with asyncio, and the Python twin of tcp-server's
async-server example. Not the course's: ours, for
docs/tcp-server-async.md.

Run it from the repository's root folder:

    python3 docs/python/tcp_server_async.py [BIND_IP] [PORT]

Without arguments it listens on 0.0.0.0, port 9999.
Port 0 picks any free port.
"""
import asyncio
import sys

bind_ip = "0.0.0.0"
bind_port = 9999
if len(sys.argv) > 1:
    bind_ip = sys.argv[1]
if len(sys.argv) > 2:
    bind_port = int(sys.argv[2])


# this is our client handling task:
# asyncio runs one for each client
async def handle_client(reader, writer):
    addr = writer.get_extra_info("peername")
    print("[*] Accepted connection from:"
          " %s:%d" % (addr[0], addr[1]))

    # just print out what the client sends
    request = await reader.read(1024)
    print("[*] Received: %s" % request)

    # send back a packet
    writer.write(b"ACK!")
    await writer.drain()
    print(writer.get_extra_info("peername"))

    writer.close()
    await writer.wait_closed()


async def main():
    server = await asyncio.start_server(
        handle_client, bind_ip, bind_port)

    # which port did port 0 pick? flush:
    # print it at once, even into a pipe
    listener = server.sockets[0]
    ip, port = listener.getsockname()[:2]
    print("[*] Listening on %s:%d"
          % (ip, port), flush=True)

    async with server:
        await server.serve_forever()


asyncio.run(main())
