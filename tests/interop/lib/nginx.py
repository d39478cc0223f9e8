"""nginx (Debian nginx-light) on loopback serving provisioning bundles over HTTPS with
`ssl_verify_client on` (only devices with a certificate from the site CA get their bundle), and the
flat ustar archives it serves. The access log records `URI STATUS CLIENT-VERIFY` per request."""
import getpass
import io
import os
import signal
import socket
import subprocess
import tarfile
import time


def make_tar(path, files):
    """files: name -> bytes. A flat ustar archive (what the server serves per device)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            t.addfile(info, io.BytesIO(data))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


class Nginx:
    def __init__(self, work, port, cert, key, client_ca, root):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = port
        self.access_log = os.path.join(self.dir, "access.log")
        user = getpass.getuser()
        conf = f"""
user {user};
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log info;
events {{ worker_connections 64; }}
http {{
  log_format prov '$request_uri $status $ssl_client_verify';
  access_log {self.access_log} prov;
  client_body_temp_path {self.dir}/tmp/body;
  proxy_temp_path {self.dir}/tmp/proxy;
  fastcgi_temp_path {self.dir}/tmp/fastcgi;
  uwsgi_temp_path {self.dir}/tmp/uwsgi;
  scgi_temp_path {self.dir}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate {client_ca};
    ssl_verify_client on;
    root {root};
    location / {{ }}
  }}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited: " + open(os.path.join(self.dir, "stderr")).read())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not listen")

    def log_lines(self):
        try:
            with open(self.access_log) as f:
                return [l.split() for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def wait_log(self, count):
        """nginx writes the access log line after the response: wait until it is there."""
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = self.log_lines()
            if len(lines) >= count:
                return lines
            time.sleep(0.02)
        return self.log_lines()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
