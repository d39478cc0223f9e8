"""Short soak (issue 11): the machinery of bench/soak.py (tests/interop/lib/soak.py) for ~60 s of
calls: one `exphone run` daemon registered to Kamailio over TLS (expires 60 s), called back to
back by `exphone call` with SDES-SRTP mandatory, 3 s per call, sampled every 5 s.

Fails when the daemon's open fd count, idle after the calls, differs from its idle baseline before
them (after one warm-up call), when any call failed or was not secure, or when the daemon died or
did not exit 0 on SIGTERM. Memory is printed, not asserted (60 s is too short for a slope, and under
ASan RSS is the allocator's quarantine); the 30-minute run with the RSS verdict is bench/soak.py.
SOAK_MINUTES overrides the length (minutes of calls).
"""
import os
import tempfile
import shutil

from lib.runner import Runner
from lib.soak import Soak, summarize

EXPHONE = os.environ["EXPHONE"]


def main():
    r = Runner("short soak: calls over TLS+SRTP, fds back to the idle baseline")
    tmp = tempfile.mkdtemp(prefix="exphone-soak-short-")
    minutes = float(os.environ.get("SOAK_MINUTES", "1"))
    res = None
    try:
        soak = Soak(EXPHONE, tmp, call_seconds=3, expires=60, sample_s=5)
        res = soak.run(minutes, csv_path=os.path.join(tmp, "soak.csv"))
    except Exception as e:  # noqa: BLE001 - reported as a failed check below
        err = e
    else:
        err = None

    def ran():
        if err is not None:
            for name in ("dut.out", "dut.err"):
                try:
                    with open(os.path.join(tmp, name), errors="replace") as f:
                        print(f"--- {name} (tail)\n" + f.read()[-3000:])
                except OSError:
                    pass
            raise err
    r.check(f"{minutes:g} min of calls to the daemon ran to the end", ran)
    if res is not None and err is None:
        s = summarize(res, slope_max_kib_h=float("inf"))
        print(f"  calls {s['calls_ok']} ok / {s['calls_failed']} failed; daemon reports {s['daemon_reports']} "
              f"({s['daemon_secure']} secure); registration refreshes {s['reg_refreshes']}")
        print(f"  fds: before any call {s['fds_before_any_call']}, idle baseline {s['fds_idle_baseline']}, "
              f"max in calls {s['fds_max_in_calls']}, idle after {s['fds_idle_end']}")
        print(f"  VmRSS (not asserted): idle baseline {s['rss_idle_baseline_kib']} KiB, last in calls "
              f"{s['rss_last_kib']} KiB, idle after {s['rss_idle_end_kib']} KiB, VmHWM {s['hwm_end_kib']} KiB")

        def fds():
            assert s["verdict_fds"], (f"fds idle {s['fds_idle_baseline']} before the calls, {s['fds_idle_end']} "
                                      f"after; differing: {s['fd_diff']}")
        r.check("open fds idle after the calls == idle baseline", fds)

        def calls():
            assert s["calls_ok"] >= 5, f"only {s['calls_ok']} calls in {minutes:g} min"
            assert s["calls_failed"] == 0, res["failures"]
            assert s["daemon_secure"] == s["calls_ok"], (s["daemon_reports"], s["daemon_secure"], s["calls_ok"])
        r.check("every call answered and secure on both sides", calls)

        def alive():
            assert res["alive_after_calls"], "the daemon died"
            assert res["registered_status_at_end"], "not registered after the calls"
            assert res["exit_code"] == 0, f"exit {res['exit_code']} on SIGTERM"
        r.check("daemon alive, registered, exit 0 on SIGTERM", alive)
    shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
