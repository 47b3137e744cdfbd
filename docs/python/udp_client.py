"""UDP client: the course's script, and the Python twin
of udp-client. Lines marked "ours" are not the course's.

Run it from the repository's root folder:

    python3 docs/python/udp_client.py [HOST] [PORT]

Without arguments it sends to 127.0.0.1, port 80, and
if nothing answers, waits for ever (Ctrl-C stops it).
"""
import socket
import sys

target_host = "127.0.0.1"
target_port = 80
if len(sys.argv) > 1:  # ours
    target_host = sys.argv[1]
if len(sys.argv) > 2:  # ours
    target_port = int(sys.argv[2])

# create a socket object
client = socket.socket(
    socket.AF_INET,
    socket.SOCK_DGRAM)

# send some data
client.sendto(b"AAABBBCCC",
              (target_host, target_port))

# receive some data
data, addr = client.recvfrom(4096)

client.close()

print(data)
