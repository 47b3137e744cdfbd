"""TCP client: the Python twin of tcp-client.

Usage: python3 docs/python/tcp_client.py [HOST] [PORT]
Without arguments it asks www.google.com, port 80,
for its home page.
"""
import socket
import sys

target_host = "www.google.com"
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
client = socket.socket(family, socket.SOCK_STREAM)

# connect the client
client.connect((target_host, target_port))

# send some data: the course's exact bytes for its
# own target, else a request naming our host
if target_host == "www.google.com":
    host_header = "google.com"
elif ":" in target_host:
    host_header = "[%s]" % target_host
else:
    host_header = target_host
request = "GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host_header
client.send(request.encode())

# receive data
response = client.recv(4096)

client.close()

print(response)
