// PKCS#10 certificate signing requests (RFC 2986): the phone makes its own key and asks the site CA
// for a certificate, so the private key never leaves the device (the web admin page's "generate a
// key and CSR on the device").
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::pki {

struct CsrSpec {
  std::string common_name;
  std::string organization;
  std::vector<std::string> dns, ips;  // subjectAltName requested (extensionRequest)
};

// The CSR in PEM, signed with key (SHA-256). Errors: pki-csr.
Result<std::string> make_csr_pem(EVP_PKEY* key, const CsrSpec& spec);

}  // namespace exphone::pki
