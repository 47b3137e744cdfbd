"""TCP client: the Python reference for tcp-client/src/main.rs.

Usage: python3 docs/python/tcp_client.py [HOST] [PORT]
With no arguments it asks www.google.com port 80 for its home page.
"""
import socket
import sys

target_host = sys.argv[1] if len(sys.argv) > 1 else "www.google.com"
target_port = int(sys.argv[2]) if len(sys.argv) > 2 else 80

# An IPv6 literal such as ::1 needs an AF_INET6 socket.
family = socket.AF_INET6 if ":" in target_host else socket.AF_INET

# create a socket object
client = socket.socket(family, socket.SOCK_STREAM)

# connect the client
client.connect((target_host, target_port))

# send some data: for the default target, the course's exact bytes;
# otherwise a request that names the host we talk to
if target_host == "www.google.com":
    host_header = "google.com"
elif ":" in target_host:
    host_header = "[%s]" % target_host
else:
    host_header = target_host
request = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host_header).encode()
client.send(request)

# receive data
response = client.recv(4096)

client.close()

print(response)
