"""Packaging test (issue 4, docs/packaging.md): install a Release tree into a DESTDIR, build the
.deb with CPack, inspect and extract it, and run what it contains. Nothing is installed on the
host: every file goes to a temporary folder that is removed at the end.

Environment: EXPHONE_SOURCE_DIR (the source tree), EXPHONE_PACKAGING_WORK (a folder for the Release
tree this test builds when EXPHONE_RELEASE_TREE, an already configured Release tree of the same
source, is not set), CMAKE_COMMAND / CPACK_COMMAND, CC / CXX for a tree of our own.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
from lib.ports import free_port, wait_port  # noqa: E402
from lib.runner import Runner  # noqa: E402

SOURCE = os.environ["EXPHONE_SOURCE_DIR"]
CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
CPACK = os.environ.get("CPACK_COMMAND", "cpack")
UNIT = "usr/lib/systemd/system/exphone.service"
SYSUSERS = "usr/lib/sysusers.d/exphone.conf"
CONFIG = "etc/exphone/exphone.toml"
BINARY = "usr/bin/exphone"
DOCS = ["usr/share/doc/exphone/README.md", "usr/share/doc/exphone/config.md",
        "usr/share/doc/exphone/packaging.md"]


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def cache_value(tree, name):
    with open(os.path.join(tree, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(rf"^{re.escape(name)}(:[A-Z]+)?=(.*)$", line.strip())
            if m:
                return m.group(2)
    return None


def release_tree():
    """An up-to-date Release tree: $EXPHONE_RELEASE_TREE, or one configured here."""
    tree = os.environ.get("EXPHONE_RELEASE_TREE")
    if not tree:
        tree = os.path.join(os.environ["EXPHONE_PACKAGING_WORK"], "release")
        if not os.path.exists(os.path.join(tree, "CMakeCache.txt")):
            cmd = [CMAKE, "-S", SOURCE, "-B", tree, "-DCMAKE_BUILD_TYPE=Release", "-DEXPHONE_TESTS=OFF"]
            if shutil.which("ninja"):
                cmd += ["-G", "Ninja"]
            for var, cache in (("CC", "CMAKE_C_COMPILER"), ("CXX", "CMAKE_CXX_COMPILER")):
                if os.environ.get(var):
                    cmd.append(f"-D{cache}={os.environ[var]}")
            run(cmd)
    assert cache_value(tree, "CMAKE_BUILD_TYPE") == "Release", f"{tree} is not a Release tree"
    home = cache_value(tree, "CMAKE_HOME_DIRECTORY")
    assert os.path.realpath(home) == os.path.realpath(SOURCE), f"{tree} was configured from {home}, not {SOURCE}"
    jobs = os.environ.get("EXPHONE_PACKAGING_JOBS", str(os.cpu_count() or 1))
    run([CMAKE, "--build", tree, "--parallel", jobs])
    return tree


def read(path):
    with open(path) as f:
        return f.read()


def unit_keys(text):
    """[Service]/[Unit]/[Install] key=value lines; repeated keys keep every value."""
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        k, _, v = line.partition("=")
        keys.setdefault(k, []).append(v)
    return keys


def check_unit(text, prefix):
    assert not re.search(r"@[A-Z_]+@", text), f"unexpanded template variable in the unit:\n{text}"
    k = unit_keys(text)
    assert k["ExecStart"] == [f"{prefix}/bin/exphone run --config /etc/exphone/exphone.toml"], k["ExecStart"]
    assert k["Type"] == ["notify"], k["Type"]
    assert k["Restart"] == ["on-failure"], k["Restart"]
    assert k["User"] == ["exphone"] and k["Group"] == ["exphone"], (k.get("User"), k.get("Group"))
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("StateDirectory", "exphone")):
        assert k.get(key) == [value], f"{key}={k.get(key)}"
    assert k["WantedBy"] == ["multi-user.target"], k["WantedBy"]


def config_check(exphone, config):
    p = run([exphone, "config", "check", "--config", config, "--json"], check=False)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def main():
    r = Runner("packaging")
    tmp = tempfile.mkdtemp(prefix="exphone-pkg-")
    try:
        tree = release_tree()
        version = cache_value(tree, "CMAKE_PROJECT_VERSION")
        assert version, "no CMAKE_PROJECT_VERSION in the cache"
        stage = os.path.join(tmp, "destdir")

        def install(dest, prefix):
            run([CMAKE, "--install", tree, "--prefix", prefix], env={**os.environ, "DESTDIR": dest})

        def destdir_install():
            install(stage, "/usr")
            for rel in [BINARY, UNIT, SYSUSERS, CONFIG, *DOCS]:
                assert os.path.isfile(os.path.join(stage, rel)), f"{rel} not installed"
            assert os.access(os.path.join(stage, BINARY), os.X_OK), "binary not executable"
            check_unit(read(os.path.join(stage, UNIT)), "/usr")
            assert read(os.path.join(stage, CONFIG)) == read(os.path.join(SOURCE, "packaging", "exphone.toml"))
        r.check("cmake --install into DESTDIR: binary, unit, sysusers, config, docs", destdir_install)

        def other_prefix():
            dest = os.path.join(tmp, "opt-destdir")
            install(dest, "/opt/exphone")
            check_unit(read(os.path.join(dest, "opt/exphone/lib/systemd/system/exphone.service")), "/opt/exphone")
            assert os.path.isfile(os.path.join(dest, "opt/exphone/bin/exphone"))
            assert os.path.isfile(os.path.join(dest, CONFIG)), "config must stay in /etc/exphone"
        r.check("the unit names the binary under the prefix used at install time", other_prefix)

        out = os.path.join(tmp, "deb")
        deb = {}

        def build_deb():
            run([CPACK, "-G", "DEB", "-B", out, "--config", os.path.join(tree, "CPackConfig.cmake")])
            debs = [f for f in os.listdir(out) if f.endswith(".deb")]
            assert len(debs) == 1, debs
            arch = run(["dpkg", "--print-architecture"]).stdout.strip()
            assert debs[0] == f"exphone_{version}-1_{arch}.deb", debs[0]
            deb["path"] = os.path.join(out, debs[0])
        r.check("cpack -G DEB builds exphone_<version>-1_<arch>.deb", build_deb)
        if "path" not in deb:
            r.finish()

        root = os.path.join(tmp, "root")
        run(["dpkg-deb", "-x", deb["path"], root])
        control = os.path.join(tmp, "control")
        run(["dpkg-deb", "-e", deb["path"], control])

        def deb_info():
            info = run(["dpkg-deb", "-I", deb["path"]]).stdout
            fields = dict(re.findall(r"^ ([A-Za-z-]+): (.*)$", info, re.M))
            assert fields.get("Package") == "exphone", fields
            assert fields.get("Version") == f"{version}-1", fields
            depends = [d.strip() for d in fields.get("Depends", "").split(",")]
            names = {re.split(r"[ (]", alt.strip())[0] for d in depends for alt in d.split("|")}
            assert "libc6" in names, depends
            assert "systemd | adduser" in depends, depends
            # every library the binary needs comes from a package the .deb depends on
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", run(["readelf", "-d", os.path.join(root, BINARY)]).stdout)
            assert needed, "readelf found no NEEDED entries"
            resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", os.path.join(root, BINARY)]).stdout, re.M))
            for lib in needed:
                path = os.path.realpath(resolved[lib])
                # usrmerge: dpkg may know the file as /lib/... or /usr/lib/...
                candidates = [path, path[len("/usr"):] if path.startswith("/usr/") else "/usr" + path]
                found = [run(["dpkg", "-S", c], check=False) for c in candidates]
                owners = {o.split(":")[0].strip() for p in found if p.returncode == 0 for o in p.stdout.split(",")}
                assert owners, f"no package owns {lib} ({path})"
                assert owners & names, f"{lib} ({path}) comes from {owners}, none of them in Depends: {depends}"
            assert "libsystemd0" not in names, f"sd_notify needs no libsystemd: {depends}"
        r.check("dpkg-deb -I: name, version, Depends cover every NEEDED library (dpkg-shlibdeps)", deb_info)

        def deb_contents():
            listing = run(["dpkg-deb", "-c", deb["path"]]).stdout
            paths = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line.strip()}
            for rel in [BINARY, UNIT, SYSUSERS, CONFIG]:
                assert "/" + rel in paths, f"/{rel} missing from the .deb"
            assert not any(p.startswith("/usr/local") for p in paths), "files under /usr/local"
            assert read(os.path.join(control, "conffiles")).split() == ["/etc/exphone/exphone.toml"]
            for script in ("postinst", "prerm", "postrm"):
                path = os.path.join(control, script)
                assert os.access(path, os.X_OK), f"{script} not executable"
                run(["sh", "-n", path])
            postinst = re.sub(r"#.*", "", read(os.path.join(control, "postinst")))  # code, not comments
            assert "systemd-sysusers /usr/lib/sysusers.d/exphone.conf" in postinst
            assert "deb-systemd-helper enable exphone.service" in postinst
            assert not re.search(r"systemctl\s+(start|restart)\b|deb-systemd-invoke\s+start", postinst), \
                "postinst must not start the daemon"
            check_unit(read(os.path.join(root, UNIT)), "/usr")
        r.check("dpkg-deb -c: binary, unit, sysusers, config; conffile; maintainer scripts", deb_contents)

        exphone = os.path.join(root, BINARY)

        def extracted_version():
            p = run([exphone, "--version"])
            assert p.stdout.strip() == f"exphone {version}", p.stdout
        r.check("the packaged binary runs: --version", extracted_version)

        def example_config():
            config = os.path.join(root, CONFIG)
            rc, rep, err = config_check(exphone, config)
            assert rc == 0, f"exit {rc}: {err}"
            assert rep["valid"] is True, rep
            assert [a["transport"] for a in rep["accounts"]] == ["tls"], rep
            etc = os.path.join(root, "etc/exphone")
            # a host without /etc/machine-id adds a warning about the RFC 5626 instance id
            warnings = [w for w in rep["warnings"] if not w.startswith("no machine id")]
            assert sorted(warnings) == sorted([
                f"tls.ca_files: {etc}/plant-root-ca.pem does not exist",
                f"tls.client_cert: {etc}/device.crt does not exist",
                f"tls.client_key: {etc}/device.key does not exist"]), rep["warnings"]
            # the same check fails on a broken copy and names the line
            lines = read(config).splitlines()
            i = next(n for n, line in enumerate(lines) if line.startswith("password"))
            lines[i] = lines[i].replace("password", "pasword")
            broken = os.path.join(tmp, "broken.toml")
            with open(broken, "w") as f:
                f.write("\n".join(lines) + "\n")
            rc, rep, err = config_check(exphone, broken)
            assert rc == 1 and rep.get("valid") is False, (rc, rep)
            assert f"error: config: {broken}:{i + 1}: unknown key 'pasword'" in err, err
        r.check("config check accepts the packaged example and rejects a misspelt key with its line",
                example_config)

        def analyze_verify():
            # Nothing is installed on the host, so point ExecStart at the extracted binary.
            unit = os.path.join(tmp, "verify", "exphone.service")
            os.makedirs(os.path.dirname(unit))
            with open(unit, "w") as f:
                f.write(read(os.path.join(root, UNIT)).replace("ExecStart=/usr/bin/exphone", f"ExecStart={exphone}"))
            p = run(["systemd-analyze", "verify", "--man=no", unit], check=False)
            assert p.returncode == 0 and "exphone.service" not in p.stderr, p.stderr
        r.check("systemd-analyze verify accepts the unit", analyze_verify)

        def sysusers():
            sysroot = os.path.join(tmp, "sysroot")
            os.makedirs(os.path.join(sysroot, "etc"))
            run(["systemd-sysusers", f"--root={sysroot}", os.path.join(root, SYSUSERS)])
            entry = [line for line in read(os.path.join(sysroot, "etc/passwd")).splitlines() if line.startswith("exphone:")]
            assert len(entry) == 1, read(os.path.join(sysroot, "etc/passwd"))
            f = entry[0].split(":")
            assert int(f[2]) < 1000 and f[5] == "/var/lib/exphone" and f[6] == "/usr/sbin/nologin", f
        r.check("the sysusers file creates the exphone system user (systemd-sysusers --root)", sysusers)

        def readiness():
            port = free_port(udp=False)
            config = os.path.join(tmp, "run.toml")
            with open(config, "w") as f:
                f.write(f'[sip]\ntcp_listen = "127.0.0.1:{port}"\n')
            sock_path = os.path.join(tmp, "notify.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sock_path)
            s.settimeout(10)
            proc = subprocess.Popen([exphone, "run", "--config", config], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env={**os.environ, "NOTIFY_SOCKET": sock_path})
            try:
                msg = s.recv(4096).decode()
                assert "READY=1" in msg.split("\n"), msg
                # READY means the listener accepts connections now, without polling
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                proc.send_signal(signal.SIGTERM)
                msg = s.recv(4096).decode()
                assert "STOPPING=1" in msg.split("\n"), msg
                out, err = proc.communicate(timeout=15)
                assert proc.returncode == 0, f"exit {proc.returncode}: {err}"
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                s.close()
        r.check("exphone run notifies READY=1 with the listener up, STOPPING=1 on SIGTERM", readiness)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
