// Certificate files named by a config, loaded and judged for real: the trust store (CA files) and
// the device's client certificate and key.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "tools/audit/certs.h"
#include "tools/pki/inspect.h"

namespace exphone::audit {

namespace {

Finding f(std::string id, Severity s, const CertRef& ref, std::string risk, std::string fix) {
  return Finding{std::move(id), s, ref.line, ref.key, std::move(risk), std::move(fix)};
}

// 0 = exists and readable; else an errno
int access_error(const std::string& path, struct stat& st) {
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EISDIR;
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) return errno;
  std::fclose(fp);
  return 0;
}

std::string day_word(long d) { return std::to_string(d) + (d == 1 ? " day" : " days"); }

void check_validity(const pki::CertInfo& info, const std::string& what, const std::string& id_prefix, const CertRef& ref,
                    std::time_t now, long warn_days, const std::string& fix, std::vector<Finding>& out) {
  long left = pki::days_until(info.not_after, now);
  std::string who = what + " '" + info.common_name + "' (" + ref.path + ")";
  if (now > info.not_after) {
    out.push_back(f(id_prefix + "-expired", Severity::kError, ref,
                    who + " expired on " + pki::iso_time(info.not_after) + ": every TLS handshake that needs it fails",
                    fix));
  } else if (now < info.not_before) {
    out.push_back(f(id_prefix + "-not-yet-valid", Severity::kError, ref,
                    who + " is valid only from " + pki::iso_time(info.not_before) +
                        ": handshakes fail until then (or this host's clock is wrong)",
                    "check the clock (NTP) of this host and of the CA host; re-issue if the certificate is wrong"));
  } else if (left < warn_days) {
    out.push_back(f(id_prefix + "-expiring", Severity::kWarning, ref,
                    who + " expires in " + day_word(left) + " (" + pki::iso_time(info.not_after) +
                        "): after that the phone cannot connect",
                    fix));
  }
}

}  // namespace

std::vector<Finding> check_ca_file(const CertRef& ref, std::time_t now, long warn_days) {
  std::vector<Finding> out;
  struct stat st {};
  if (int e = access_error(ref.path, st); e != 0) {
    if (e == ENOENT)
      out.push_back(f("ca-file-missing", Severity::kError, ref,
                      "the CA file " + ref.path + " does not exist, so no server certificate can be verified and TLS fails",
                      "copy the site root CA there (exphone pki init: D/ca/chain.pem) or correct the path"));
    else
      out.push_back(f("ca-file-unreadable", Severity::kError, ref,
                      "the CA file " + ref.path + " cannot be read (" + std::strerror(e) + "), so TLS fails",
                      "make it a regular file readable by the exphone user"));
    return out;
  }
  auto certs = pki::load_certs(ref.path);
  if (!certs) {
    out.push_back(f("ca-file-unreadable", Severity::kError, ref,
                    "the CA file " + ref.path + " holds no certificate (" + certs.error().message + "), so TLS fails",
                    "put the PEM (or DER) root CA certificate there"));
    return out;
  }
  for (const auto& c : *certs) {
    pki::CertInfo info = pki::inspect(c.get());
    if (!info.is_ca) {
      out.push_back(f("ca-not-ca", Severity::kError, ref,
                      "'" + info.common_name + "' in " + ref.path +
                          " is not a CA certificate (no basicConstraints CA:TRUE): it cannot anchor a chain, so "
                          "verification fails — often the server certificate was uploaded instead of its CA",
                      "replace it with the root CA that issued the server certificate (and its intermediates)"));
      continue;
    }
    check_validity(info, "CA certificate", "ca", ref, now, warn_days,
                   "issue a new CA (exphone pki init) and roll it out before the old one expires", out);
  }
  return out;
}

std::vector<Finding> check_client_cert(const CertRef& cert, const CertRef& key, const std::string& passphrase,
                                       std::time_t now, long warn_days) {
  std::vector<Finding> out;
  struct stat st {};
  if (int e = access_error(cert.path, st); e != 0) {
    out.push_back(f(e == ENOENT ? "client-cert-missing" : "client-cert-unreadable", Severity::kError, cert,
                    "the client certificate " + cert.path + (e == ENOENT ? " does not exist" : " cannot be read") +
                        ": mutual TLS fails and servers that require it refuse the phone",
                    "issue one with `exphone pki device --id ID` and copy device.crt/.key there"));
    return out;
  }
  auto certs = pki::load_certs(cert.path);
  if (!certs) {
    out.push_back(f("client-cert-unreadable", Severity::kError, cert,
                    cert.path + " holds no certificate (" + certs.error().message + "): mutual TLS fails",
                    "put the device certificate (PEM) there"));
    return out;
  }
  X509* leaf = certs->front().get();
  pki::CertInfo info = pki::inspect(leaf);
  check_validity(info, "client certificate", "client-cert", cert, now, warn_days,
                 "re-issue it: exphone pki device --id " + info.common_name + " --force", out);
  if (info.has_eku && !info.eku_client)
    out.push_back(f("client-cert-no-client-auth", Severity::kError, cert,
                    "the client certificate has no extendedKeyUsage clientAuth, so servers reject it for mutual TLS",
                    "issue a device certificate (exphone pki device): it carries clientAuth"));

  if (::stat(key.path.c_str(), &st) != 0) {
    out.push_back(f("client-key-missing", Severity::kError, key,
                    "the client key " + key.path + " does not exist: mutual TLS fails",
                    "copy the device key (device.key, mode 0600) there"));
    return out;
  }
  if (st.st_mode & 077)
    out.push_back(f("client-key-readable", Severity::kError, key,
                    "the private key " + key.path + " is readable by group or others (mode " +
                        std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                        std::to_string(st.st_mode & 7) + "): anyone on the host can impersonate the device",
                    "chmod 600 " + key.path));
  auto k = pki::load_key(key.path, passphrase);
  if (!k) {
    out.push_back(f("client-key-unreadable", Severity::kError, key,
                    key.path + ": " + k.error().message + ": mutual TLS fails",
                    "check the file and tls.client_key_passphrase"));
    return out;
  }
  if (!pki::key_matches(leaf, k->get()))
    out.push_back(f("client-key-mismatch", Severity::kError, key,
                    "the client key " + key.path + " does not belong to the certificate " + cert.path +
                        ": the TLS stack refuses to load the pair",
                    "copy the key that was issued with this certificate (same bundle), or re-issue both"));
  return out;
}

}  // namespace exphone::audit
