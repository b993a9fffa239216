"""A webhook receiver for the alert tests, on 127.0.0.1 and a free port: writes each POST body to
OUTDIR/<n>.json and answers by MODE: ok (200), 500 (always), hang (never answers).
Usage: webhook_server.py MODE OUTDIR   (prints the port on its first line)"""
import http.server, os, sys, threading, time

mode, outdir = sys.argv[1], sys.argv[2]
count = 0
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            count += 1
            n = count
        with open(os.path.join(outdir, f"{n}.json"), "wb") as f:
            f.write(body)
        with open(os.path.join(outdir, f"{n}.content-type"), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        if mode == "hang":
            time.sleep(3600)
        self.send_response(200 if mode == "ok" else 500)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
