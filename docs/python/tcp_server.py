"""TCP server: the course's script, and the Python twin
of tcp-server. Lines marked "ours" are not the course's.

Run it from the repository's root folder:

    python3 docs/python/tcp_server.py [BIND_IP] [PORT]

Without arguments it listens on 0.0.0.0, port 9999.
Port 0 picks any free port.
"""
import socket
import sys
import threading

bind_ip = "0.0.0.0"
bind_port = 9999
if len(sys.argv) > 1:  # ours
    bind_ip = sys.argv[1]
if len(sys.argv) > 2:  # ours
    bind_port = int(sys.argv[2])

server = socket.socket(
    socket.AF_INET,
    socket.SOCK_STREAM)
server.bind((bind_ip, bind_port))
server.listen(5)

# ours: which port did port 0 pick?
bind_ip, bind_port = server.getsockname()
print("[*] Listening on %s:%d"
      % (bind_ip, bind_port))


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
    print("[*] Accepted connection from:"
          " %s:%d" % (addr[0], addr[1]))

    # spin up our client thread to handle
    # incoming data
    client_handler = threading.Thread(
        target=handle_client, args=(client,))
    client_handler.start()
