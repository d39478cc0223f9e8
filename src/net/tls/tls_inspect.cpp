#include "net/tls/tls_inspect.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "net/tls/tls_internal.h"
#include "net/tls/tls_verify.h"

namespace exphone::net::tls {

namespace {

std::string hex_colon(const unsigned char* data, unsigned int n) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i != 0) out.push_back(':');
    out.push_back(hex[data[i] >> 4]);
    out.push_back(hex[data[i] & 0xf]);
  }
  return out;
}

std::time_t to_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* s = BN_bn2hex(bn);
  std::string out = s != nullptr ? s : "";
  OPENSSL_free(s);
  BN_free(bn);
  return out;
}

void describe_key(X509* cert, CertificateInfo& out) {
  EVP_PKEY* key = X509_get0_pubkey(cert);  // borrowed
  if (key == nullptr) {
    out.key_type = "unknown";
    return;
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  out.key_type = type != nullptr ? type : "unknown";
  if (out.key_type == "rsaEncryption") out.key_type = "RSA";
  out.key_bits = EVP_PKEY_get_bits(key);
  char group[80] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1)
    out.key_group.assign(group, len);
}

void describe_signature(X509* cert, CertificateInfo& out) {
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, cert);
  if (alg != nullptr) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    char name[128] = {};
    if (obj != nullptr && OBJ_obj2txt(name, sizeof name, obj, 0) > 0) out.signature_algorithm = name;
  }
  // The digest behind the signature (RSA-PSS carries it in parameters; Ed25519 has none).
  int md_nid = NID_undef;
  if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) == 1 && md_nid != NID_undef) {
    const char* sn = OBJ_nid2sn(md_nid);
    out.signature_digest = sn != nullptr ? sn : "";
  }
  ERR_clear_error();
}

}  // namespace

std::string format_utc(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

CertificateInfo describe_certificate(X509* cert) {
  CertificateInfo out;
  if (cert == nullptr) return out;
  out.subject = detail::subject_of(cert);
  out.issuer = detail::issuer_of(cert);
  out.serial = serial_hex(cert);
  out.not_before = to_time(X509_get0_notBefore(cert));
  out.not_after = to_time(X509_get0_notAfter(cert));
  CertNames names = cert_names(cert);
  for (const auto& d : names.dns) out.san.push_back("DNS:" + d);
  for (const auto& i : names.ip) out.san.push_back("IP:" + i);
  for (const auto& u : names.uri) out.san.push_back("URI:" + u);
  describe_key(cert, out);
  describe_signature(cert, out);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) == 1) out.sha256_fingerprint = hex_colon(md, n);
  out.is_ca = X509_check_ca(cert) != 0 && (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  out.self_signed = X509_self_signed(cert, 1) == 1;
  ERR_clear_error();
  return out;
}

std::vector<CertificateInfo> peer_chain(SSL* ssl) {
  std::vector<CertificateInfo> out;
  if (ssl == nullptr) return out;
  // Client side: the peer chain includes the leaf, in the order received.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl); chain != nullptr && sk_X509_num(chain) > 0) {
    for (int i = 0; i < sk_X509_num(chain); ++i) out.push_back(describe_certificate(sk_X509_value(chain, i)));
    return out;
  }
  if (const detail::SslState* st = detail::ssl_state(ssl)) {
    for (const auto& x : st->sent) out.push_back(describe_certificate(x.get()));
  }
  return out;
}

ClientAuthInfo client_auth(const SSL* ssl) {
  ClientAuthInfo out;
  const detail::SslState* st = ssl != nullptr ? detail::ssl_state(ssl) : nullptr;
  if (st == nullptr) return out;
  out.requested = st->cert_requested;
  out.sent = st->cert_requested && st->had_client_cert;
  return out;
}

}  // namespace exphone::net::tls
