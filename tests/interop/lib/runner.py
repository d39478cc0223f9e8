"""Tiny test runner for the interop scripts: named checks, a summary line ctest can read
('N passed, M failed'), exit status 1 on any failure."""
import sys
import traceback


class Runner:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = []

    def check(self, label, fn):
        try:
            fn()
            self.passed += 1
            print(f"PASS {label}", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            self.failed.append(label)
            print(f"FAIL {label}: {e}", flush=True)
            traceback.print_exc()

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {len(self.failed)} failed", flush=True)
        sys.exit(1 if self.failed else 0)
