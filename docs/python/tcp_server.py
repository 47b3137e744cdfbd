"""TCP server: the Python twin of tcp-server.

Usage: python3 docs/python/tcp_server.py [BIND_IP] [PORT]
Without arguments it listens on 0.0.0.0, port 9999.
Port 0 picks any free port.
"""
import socket
import sys
import threading

bind_ip = "0.0.0.0"
bind_port = 9999
if len(sys.argv) > 1:
    bind_ip = sys.argv[1]
if len(sys.argv) > 2:
    bind_port = int(sys.argv[2])

# An IPv6 literal such as ::1 needs AF_INET6.
family = socket.AF_INET
if ":" in bind_ip:
    family = socket.AF_INET6

server = socket.socket(family, socket.SOCK_STREAM)
server.bind((bind_ip, bind_port))
server.listen(5)

# Print the address really bound: with port 0, only
# getsockname() knows which port we got.
bind_ip, bind_port = server.getsockname()[:2]
print("[*] Listening on %s:%d" % (bind_ip, bind_port))


# this is our client handling thread
def handle_client(client_socket):
    # just print out what the client sends
    request = client_socket.recv(1024)
    print("[*] Received: %s" % request)

    # send back a packet
    client_socket.send(b"ACK!")
    print(client_socket.getpeername())

    client_socket.close()


while True:
    client, addr = server.accept()
    print("[*] Accepted connection from: %s:%d"
          % (addr[0], addr[1]))

    # spin up our client thread to handle incoming data
    client_handler = threading.Thread(
        target=handle_client, args=(client,))
    client_handler.start()
