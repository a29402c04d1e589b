"""A TCP forwarder in front of a real service (PostgreSQL, Redis, moto's S3) that a test can break:

    with FaultyProxy("127.0.0.1", 5432) as proxy:
        ... point the app at proxy.port ...
        proxy.refuse()   # new connections are refused (the port is closed), existing ones cut
        proxy.stall()    # connections stay open but nothing is forwarded either way
        proxy.heal()     # back to forwarding

The service itself is never touched; only the path to it fails, as a network or a dead host does.
"""

import contextlib
import socket
import threading


class FaultyProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._listener: socket.socket | None = None
        self.port = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> "FaultyProxy":
        self._listen(port=0)
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._close_listener()
        self._cut_all()

    def _listen(self, port: int) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener, self.port = listener, listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept(), then frees the port
                self._listener.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    # --- faults ------------------------------------------------------------------------------

    def refuse(self) -> None:
        """Like a database that is down: the port refuses connections, open ones are reset."""
        self.mode = "refuse"
        self._close_listener()
        self._cut_all()

    def stall(self) -> None:
        """Like a silent network: connections are accepted and kept, but no byte gets through."""
        self.mode = "stall"

    def heal(self) -> None:
        if self.mode == "refuse":
            self._listen(port=self.port)
        self.mode = "forward"

    # --- forwarding --------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update({client, upstream})
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            while self.mode == "stall" and not self._stopped.is_set():
                self._stopped.wait(0.05)  # hold the bytes: the peer waits as on a dead network
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
