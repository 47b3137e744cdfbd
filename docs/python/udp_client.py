"""UDP client: the Python reference for udp-client/src/main.rs.

Usage: python3 docs/python/udp_client.py [HOST] [PORT]
With no arguments it sends to 127.0.0.1 port 80 and, if nothing answers
there, waits forever (stop it with Ctrl-C).
"""
import socket
import sys

target_host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
target_port = int(sys.argv[2]) if len(sys.argv) > 2 else 80

# An IPv6 literal such as ::1 needs an AF_INET6 socket.
family = socket.AF_INET6 if ":" in target_host else socket.AF_INET

# create a socket object
client = socket.socket(family, socket.SOCK_DGRAM)

# send some data
client.sendto(b"AAABBBCCC", (target_host, target_port))

# receive some data
data, addr = client.recvfrom(4096)

client.close()

print(data)
