"""exphone interop test helpers: a real Kamailio on loopback (kamailio.py), a throwaway test
PKI made with the openssl CLI (certs.py), free loopback ports (ports.py)."""
