"""`exphone advise --toml` is a working config, not just one that `audit` accepts: the fragment
for a Kamailio on the shared LAN, with only the placeholders filled (password, the registrar's
test port), registers over verified TLS against a real Kamailio."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def main():
    r = Runner("advise -> register")
    tmp = tempfile.mkdtemp(prefix="exphone-advise-")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            for network in ("shared-lan", "cloud"):
                frag = subprocess.run([EXPHONE, "advise", "--network", network, "--pbx", "kamailio", "--toml",
                                       "--domain", "127.0.0.1", "--user", "1001", "--ca", kam.ca_file],
                                      capture_output=True, text=True, timeout=30)
                text = frag.stdout
                text = text.replace('password = "CHANGE-ME"', 'password = "secret1001"')
                text = re.sub(r'registrar = "sips:127\.0\.0\.1"', f'registrar = "sips:127.0.0.1:{kam.tls_port}"', text)
                path = os.path.join(tmp, f"{network}.toml")
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, 0o600)
                audit = subprocess.run([EXPHONE, "audit", path, "--network", network, "--json"], capture_output=True,
                                       text=True, timeout=30)
                reg = subprocess.run([EXPHONE, "register", "--config", path, "--json"], capture_output=True,
                                     text=True, timeout=60)

                def check():
                    assert frag.returncode == 0, frag.stderr
                    assert f"sips:127.0.0.1:{kam.tls_port}" in text, text  # the placeholder was where expected
                    errors = [f for f in json.loads(audit.stdout)["findings"] if f["severity"] == "error"]
                    assert audit.returncode == 0 and not errors, audit.stdout[-2000:]
                    assert reg.returncode == 0, reg.stdout + reg.stderr
                    rep = json.loads(reg.stdout)
                    acc = rep[0] if isinstance(rep, list) else rep["accounts"][0]
                    assert acc["registered"] and acc["transport"] == "tls" and acc["tls"]["verified"], acc
                r.check(f"advise --network {network} --pbx kamailio --toml: audit clean, registers over verified TLS",
                        check)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
