#include "tools/pki/csr.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace exphone::pki {

namespace {

Error csr_error(const std::string& what) { return make_error("pki-csr", "cannot make the CSR: " + what); }

}  // namespace

Result<std::string> make_csr_pem(EVP_PKEY* key, const CsrSpec& spec) {
  if (spec.common_name.empty() || spec.common_name.size() > 64) return csr_error("the common name must be 1..64 characters");
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), X509_REQ_free);
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return csr_error("out of memory");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  auto add = [&](const char* field, const std::string& v) {
    return v.empty() || X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(v.data()),
                                                   static_cast<int>(v.size()), -1, 0) == 1;
  };
  if (!add("O", spec.organization) || !add("CN", spec.common_name)) return csr_error("bad subject");
  std::string san;
  for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : spec.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!san.empty()) {
    // RFC 2986 / RFC 2985 5.4.2: the wanted extensions go into an extensionRequest attribute
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    bool ok = exts != nullptr && ext != nullptr && sk_X509_EXTENSION_push(exts, ext) > 0;
    if (!ok) X509_EXTENSION_free(ext);
    ok = ok && X509_REQ_add_extensions(req.get(), exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) return csr_error("bad subjectAltName '" + san + "'");
  }
  if (X509_REQ_set_pubkey(req.get(), key) != 1 || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return csr_error("cannot sign");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return csr_error("cannot encode");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace exphone::pki
