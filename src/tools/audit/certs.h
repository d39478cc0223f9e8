// The certificate rules of `audit` (certs.cpp): CA files and the client certificate/key pair.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "tools/audit/audit.h"

namespace exphone::audit {

struct CertRef {
  std::string path;  // resolved
  std::string key;   // config key, e.g. "tls.ca_files"
  int line = 0;
};

// ca-file-missing, ca-file-unreadable, ca-not-ca, ca-expired, ca-not-yet-valid, ca-expiring
std::vector<Finding> check_ca_file(const CertRef& ref, std::time_t now, long warn_days);

// client-cert-missing/-unreadable/-expired/-not-yet-valid/-expiring/-no-client-auth,
// client-key-missing/-unreadable/-readable/-mismatch
std::vector<Finding> check_client_cert(const CertRef& cert, const CertRef& key, const std::string& passphrase,
                                       std::time_t now, long warn_days);

}  // namespace exphone::audit
