"""TCP client: the course's script, and the Python twin
of tcp-client. Lines marked "ours" are not the course's.

Run it from the repository's root folder:

    python3 docs/python/tcp_client.py [HOST] [PORT]

Without arguments it asks www.google.com, port 80, for
its home page, as the course's script does.
"""
import socket
import sys

target_host = "www.google.com"
target_port = 80
if len(sys.argv) > 1:  # ours
    target_host = sys.argv[1]
if len(sys.argv) > 2:  # ours
    target_port = int(sys.argv[2])

# create a socket object
client = socket.socket(
    socket.AF_INET,
    socket.SOCK_STREAM)

# connect the client
client.connect((target_host, target_port))

# send some data
client.send(b"GET / HTTP/1.1\r\n"
            b"Host: google.com\r\n\r\n")

# receive data
response = client.recv(4096)

client.close()

print(response)
