"""TCP server: the Python reference for tcp-server/src/main.rs.

Usage: python3 docs/python/tcp_server.py [BIND_IP] [PORT]
With no arguments it listens on 0.0.0.0 port 9999. Port 0 picks a free port.
"""
import socket
import sys
import threading

bind_ip = sys.argv[1] if len(sys.argv) > 1 else "0.0.0.0"
bind_port = int(sys.argv[2]) if len(sys.argv) > 2 else 9999

# An IPv6 literal such as ::1 needs an AF_INET6 socket.
family = socket.AF_INET6 if ":" in bind_ip else socket.AF_INET

server = socket.socket(family, socket.SOCK_STREAM)
server.bind((bind_ip, bind_port))
server.listen(5)

# Print the address really bound, so that port 0 shows the port we got.
listening_ip, listening_port = server.getsockname()[:2]
print("[*] Listening on %s:%d" % (listening_ip, listening_port))


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
    print("[*] Accepted connection from: %s:%d" % (addr[0], addr[1]))

    # spin up our client thread to handle incoming data
    client_handler = threading.Thread(target=handle_client, args=(client,))
    client_handler.start()
