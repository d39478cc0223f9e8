"""Throwaway test PKI for the interop tests, made with the `openssl` CLI (OpenSSL 3.0 is enough).

NOT for production: RSA-2048 keys without passphrase, world-readable, in a temp dir.

    from lib.certs import ensure_pki
    pki = ensure_pki("/tmp/x/certs")        # idempotent; safe to call from parallel processes
    pki.ca_file, pki.crt("server"), pki.key("server")

Files (each name below is `NAME.crt` + `NAME.key`; cert files may hold a chain, leaf first):

| name                   | what                                                             | expected result, CA = ca.crt, host 127.0.0.1 |
|------------------------|------------------------------------------------------------------|-----------------------------------------------|
| ca                     | root CA "exphone Test Root CA"                                   | trust anchor                                  |
| inter                  | intermediate CA (pathlen 0) signed by ca                         | -                                             |
| server                 | leaf + inter; SAN DNS:localhost, IP:127.0.0.1, IP:::1            | OK                                            |
| server-leafonly        | same leaf (same key) WITHOUT the intermediate                    | unable to get local issuer certificate        |
| server-expired         | leaf + inter, valid -400 d .. -30 d                              | certificate has expired                       |
| server-notyetvalid     | leaf + inter, valid +3650 d .. +4015 d                           | certificate is not yet valid                  |
| server-wrongsan        | leaf + inter, SAN DNS:other.example only (CN other.example)      | IP address / hostname mismatch                |
| server-selfsigned      | self-signed, SAN DNS:localhost, IP:127.0.0.1, IP:::1             | self-signed certificate                       |
| client1001             | device cert CN=1001, SAN URI:sip:1001@localhost, EKU clientAuth, | OK for mTLS                                   |
|                        | signed directly by ca (also client1001.pem = cert + key)         |                                               |
| rogue-ca               | unrelated root CA "Rogue Test CA"                                | not trusted                                   |
| client1001-rogue       | CN=1001 device cert signed by rogue-ca (+ .pem)                  | unknown CA -> refused by the mTLS port        |

Also `ca-bundle.crt` = ca + inter (for peers that want both), `inter.crt`.
More device certs: `pki.client_cert("1002")` (signed by ca, created on demand).
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Pki", "ensure_pki", "SERVER_CERTS"]

PKI_VERSION = "exphone-test-pki-1"
ORG = "/O=exphone interop tests"
SERVER_SAN = "DNS:localhost,IP:127.0.0.1,IP:::1"
SERVER_CERTS = (
    "server", "server-leafonly", "server-expired", "server-notyetvalid",
    "server-wrongsan", "server-selfsigned",
)

_LEAF_EXT = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage={eku}\n"
    "subjectAltName={san}\n"
    "subjectKeyIdentifier=hash\n"
    "authorityKeyIdentifier=keyid,issuer\n"
)
_CA_EXT = (
    "basicConstraints=critical,CA:TRUE{pathlen}\n"
    "keyUsage=critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier=hash\n"
    "authorityKeyIdentifier=keyid,issuer\n"
)


class PkiError(RuntimeError):
    pass


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise PkiError("command failed (%d): %s\n%s" % (r.returncode, " ".join(args), r.stdout))
    return r.stdout


def _openssl_supports_not_before() -> bool:
    """OpenSSL >= 3.4 has `x509 -not_before/-not_after`; 3.0 (Debian 12) does not."""
    r = subprocess.run(["openssl", "x509", "-help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return "-not_before" in r.stdout


class Pki:
    """Paths of a generated PKI directory. Use ensure_pki() to create one."""

    def __init__(self, directory):
        self.dir = Path(directory).resolve()

    @property
    def ca_file(self) -> str:
        return str(self.dir / "ca.crt")

    @property
    def ca_bundle(self) -> str:
        return str(self.dir / "ca-bundle.crt")

    def crt(self, name: str) -> str:
        return str(self.dir / f"{name}.crt")

    def key(self, name: str) -> str:
        return str(self.dir / f"{name}.key")

    def pem(self, name: str) -> str:
        return str(self.dir / f"{name}.pem")

    def has(self, name: str) -> bool:
        return (self.dir / f"{name}.crt").is_file() and (self.dir / f"{name}.key").is_file()

    # ---- generation -------------------------------------------------------------------------

    def _lock(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        f = open(self.dir / ".lock", "w")
        fcntl.flock(f, fcntl.LOCK_EX)
        return f

    def _newkey_csr(self, name, subj, cwd):
        _run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
              "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj], cwd)

    def _sign(self, name, issuer, ext_text, cwd, days=825, not_before=None, not_after=None):
        """Sign NAME.csr with ISSUER.crt/.key. Optional explicit validity (datetime, UTC)."""
        (Path(cwd) / f"{name}.ext").write_text(ext_text)
        if not_before is None:
            _run(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.crt",
                  "-CAkey", f"{issuer}.key", "-CAcreateserial", "-CAserial", f"{issuer}.srl",
                  "-days", str(days), "-sha256", "-extfile", f"{name}.ext",
                  "-out", f"{name}.leaf"], cwd)
            return
        fmt = lambda d: d.strftime("%Y%m%d%H%M%SZ")  # noqa: E731
        if _openssl_supports_not_before():
            _run(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.crt",
                  "-CAkey", f"{issuer}.key", "-CAcreateserial", "-CAserial", f"{issuer}.srl",
                  "-not_before", fmt(not_before), "-not_after", fmt(not_after), "-sha256",
                  "-extfile", f"{name}.ext", "-out", f"{name}.leaf"], cwd)
            return
        # OpenSSL 3.0: 'x509 -req' cannot set dates; use a throwaway 'openssl ca' database.
        db = Path(cwd) / f"ca-{name}.db"
        db.mkdir(exist_ok=True)
        (db / "index.txt").write_text("")
        (db / "serial").write_text("%x\n" % (int.from_bytes(os.urandom(8), "big") | 1 << 63))
        (db / "ca.cnf").write_text(
            "[ca]\ndefault_ca = t\n[t]\n"
            f"dir = {db}\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\n"
            f"serial = {db}/serial\ncertificate = {issuer}.crt\nprivate_key = {issuer}.key\n"
            "default_md = sha256\npolicy = any\nunique_subject = no\ncopy_extensions = none\n"
            "[any]\ncommonName = supplied\n")
        _run(["openssl", "ca", "-batch", "-notext", "-config", str(db / "ca.cnf"),
              "-startdate", fmt(not_before), "-enddate", fmt(not_after),
              "-extfile", f"{name}.ext", "-in", f"{name}.csr", "-out", f"{name}.leaf"], cwd)
        shutil.rmtree(db, ignore_errors=True)

    def _root(self, name, cn, cwd):
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
              "-days", "3650", "-keyout", f"{name}.key", "-out", f"{name}.crt",
              "-subj", f"{ORG}/CN={cn}",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd)

    def _write(self, cwd, name, *parts, key_from=None):
        """NAME.crt = concatenation of parts (files in cwd); NAME.key copied from key_from."""
        data = "".join((Path(cwd) / p).read_text() for p in parts)
        (Path(cwd) / f"{name}.crt").write_text(data)
        if key_from and key_from != name:
            shutil.copyfile(Path(cwd) / f"{key_from}.key", Path(cwd) / f"{name}.key")

    def _client(self, user, issuer, name, cwd):
        self._newkey_csr(name, f"{ORG}/CN={user}", cwd)
        self._sign(name, issuer, _LEAF_EXT.format(
            eku="clientAuth", san=f"URI:sip:{user}@localhost"), cwd)
        self._write(cwd, name, f"{name}.leaf")
        (Path(cwd) / f"{name}.pem").write_text(
            (Path(cwd) / f"{name}.crt").read_text() + (Path(cwd) / f"{name}.key").read_text())

    def generate(self):
        """Create everything in a scratch dir, then move the files in (atomic per file)."""
        work = Path(tempfile.mkdtemp(prefix=".gen-", dir=self.dir))
        w = str(work)
        try:
            now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
            day = _dt.timedelta(days=1)
            srv_ext = _LEAF_EXT.format(eku="serverAuth", san=SERVER_SAN)

            self._root("ca", "exphone Test Root CA", w)
            self._newkey_csr("inter", f"{ORG}/CN=exphone Test Intermediate CA", w)
            self._sign("inter", "ca", _CA_EXT.format(pathlen=",pathlen:0"), w, days=3000)
            self._write(w, "inter", "inter.leaf")

            # good server: leaf signed by the intermediate, file = leaf + intermediate
            self._newkey_csr("server", f"{ORG}/CN=localhost", w)
            self._sign("server", "inter", srv_ext, w)
            self._write(w, "server", "server.leaf", "inter.crt")
            self._write(w, "server-leafonly", "server.leaf", key_from="server")

            for name, nb, na in (("server-expired", now - 400 * day, now - 30 * day),
                                 ("server-notyetvalid", now + 3650 * day, now + 4015 * day)):
                self._newkey_csr(name, f"{ORG}/CN=localhost", w)
                self._sign(name, "inter", srv_ext, w, not_before=nb, not_after=na)
                self._write(w, name, f"{name}.leaf", "inter.crt")

            self._newkey_csr("server-wrongsan", f"{ORG}/CN=other.example", w)
            self._sign("server-wrongsan", "inter",
                       _LEAF_EXT.format(eku="serverAuth", san="DNS:other.example"), w)
            self._write(w, "server-wrongsan", "server-wrongsan.leaf", "inter.crt")

            _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                  "-days", "825", "-keyout", "server-selfsigned.key",
                  "-out", "server-selfsigned.crt", "-subj", f"{ORG}/CN=localhost",
                  "-addext", "basicConstraints=critical,CA:FALSE",
                  "-addext", "extendedKeyUsage=serverAuth",
                  "-addext", f"subjectAltName={SERVER_SAN}"], w)

            # device (client) certs for mTLS
            self._client("1001", "ca", "client1001", w)
            self._root("rogue-ca", "Rogue Test CA", w)
            self._client("1001", "rogue-ca", "client1001-rogue", w)

            self._write(w, "ca-bundle", "ca.crt", "inter.crt")

            self._selfcheck(w)
            for p in work.iterdir():
                if p.suffix in (".crt", ".key", ".pem"):
                    os.chmod(p, 0o644)  # throwaway; readable by non-root peers
                    os.replace(p, self.dir / p.name)
            (self.dir / ".complete").write_text(PKI_VERSION + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _selfcheck(self, cwd):
        def verify(*args):
            r = subprocess.run(["openssl", "verify", "-CAfile", "ca.crt", *args], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            return r.returncode, r.stdout

        def expect(ok, needle, *args):
            rc, out = verify(*args)
            if (rc == 0) != ok or (needle and needle not in out):
                raise PkiError("PKI self-check failed for %s: %s" % (" ".join(args), out))

        expect(True, "", "-untrusted", "inter.crt", "-verify_ip", "127.0.0.1", "server.leaf")
        expect(True, "", "-untrusted", "inter.crt", "-verify_hostname", "localhost", "server.leaf")
        expect(False, "unable to get local issuer", "server.leaf")
        expect(False, "has expired", "-untrusted", "inter.crt", "server-expired.leaf")
        expect(False, "not yet valid", "-untrusted", "inter.crt", "server-notyetvalid.leaf")
        expect(False, "", "-untrusted", "inter.crt", "-verify_ip", "127.0.0.1",
               "server-wrongsan.leaf")
        expect(False, "self-signed", "server-selfsigned.crt")
        expect(True, "", "-purpose", "sslclient", "client1001.crt")
        expect(False, "", "client1001-rogue.crt")

    def client_cert(self, user: str) -> str:
        """Device cert CN=user signed by ca (created if missing). Returns the .crt path."""
        name = f"client{user}"
        lk = self._lock()
        try:
            if not self.has(name):
                work = Path(tempfile.mkdtemp(prefix=".gen-", dir=self.dir))
                try:
                    for f in ("ca.crt", "ca.key"):
                        shutil.copyfile(self.dir / f, work / f)
                    self._client(user, "ca", name, str(work))
                    for ext in (".key", ".pem", ".crt"):  # .crt last: has() checks it
                        os.chmod(work / f"{name}{ext}", 0o644)
                        os.replace(work / f"{name}{ext}", self.dir / f"{name}{ext}")
                finally:
                    shutil.rmtree(work, ignore_errors=True)
        finally:
            lk.close()
        return self.crt(name)


def ensure_pki(directory) -> Pki:
    """Generate the PKI into `directory` unless a complete one is already there."""
    pki = Pki(directory)
    lk = pki._lock()
    try:
        stamp = pki.dir / ".complete"
        if not (stamp.is_file() and stamp.read_text().strip() == PKI_VERSION):
            pki.generate()
    finally:
        lk.close()
    return pki


if __name__ == "__main__":
    import sys
    d = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="exphone-pki-")
    print(ensure_pki(d).dir)
