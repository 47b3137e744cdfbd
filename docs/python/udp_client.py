"""UDP client: the Python twin of udp-client.

Usage: python3 docs/python/udp_client.py [HOST] [PORT]
Without arguments it sends to 127.0.0.1, port 80, and
if nothing answers, waits forever (stop it with Ctrl-C).
"""
import socket
import sys

target_host = "127.0.0.1"
target_port = 80
if len(sys.argv) > 1:
    target_host = sys.argv[1]
if len(sys.argv) > 2:
    target_port = int(sys.argv[2])

# An IPv6 literal such as ::1 needs AF_INET6.
family = socket.AF_INET
if ":" in target_host:
    family = socket.AF_INET6

# create a socket object
client = socket.socket(family, socket.SOCK_DGRAM)

# send some data
client.sendto(b"AAABBBCCC", (target_host, target_port))

# receive some data
data, addr = client.recvfrom(4096)

client.close()

print(data)
