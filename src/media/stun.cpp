#include "media/stun.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace exphone::media {
namespace {

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

// CRC-32 as in ISO/IEC 13239 / ITU-T V.42 (the polynomial RFC 8489 14.7 names), table-driven.
std::uint32_t crc32(std::span<const std::uint8_t> data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
constexpr std::uint32_t kFingerprintXor = 0x5354554E;

// The message header with its length field replaced by `length` (RFC 8489 14.5 / 14.7: the
// length covers up to and including the attribute being computed).
std::array<std::uint8_t, kStunHeaderSize> header_with_length(std::span<const std::uint8_t> raw, std::size_t length) {
  std::array<std::uint8_t, kStunHeaderSize> h{};
  std::copy_n(raw.begin(), kStunHeaderSize, h.begin());
  put16(h.data() + 2, static_cast<std::uint32_t>(length));
  return h;
}

bool hmac_sha1(std::string_view key, std::span<const std::uint8_t> head, std::span<const std::uint8_t> body,
               std::uint8_t out[20]) {
  // One-shot EVP_MAC would do too; HMAC_CTX is deprecated in OpenSSL 3, so use EVP_MAC.
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  bool ok = false;
  if (ctx) {
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
    std::size_t len = 0;
    ok = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1 &&
         EVP_MAC_update(ctx, head.data(), head.size()) == 1 && EVP_MAC_update(ctx, body.data(), body.size()) == 1 &&
         EVP_MAC_final(ctx, out, &len, 20) == 1 && len == 20;
    EVP_MAC_CTX_free(ctx);
  }
  EVP_MAC_free(mac);
  return ok;
}

}  // namespace

const StunAttribute* StunMessage::find(std::uint16_t t) const {
  for (const auto& a : attributes)
    if (a.type == t) return &a;
  return nullptr;
}

std::optional<std::string_view> StunMessage::username() const {
  const auto* a = find(kStunUsername);
  if (!a) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(a->value.data()), a->value.size());
}

std::optional<std::uint32_t> StunMessage::priority() const {
  const auto* a = find(kStunPriority);
  if (!a || a->value.size() != 4) return std::nullopt;
  return get32(a->value.data());
}

std::vector<std::uint16_t> StunMessage::unknown_required() const {
  static constexpr std::uint16_t known[] = {kStunMappedAddress, kStunUsername, kStunMessageIntegrity,
                                            kStunErrorCode, kStunUnknownAttributes, kStunMessageIntegritySha256,
                                            kStunXorMappedAddress, kStunPriority, kStunUseCandidate};
  std::vector<std::uint16_t> out;
  for (const auto& a : attributes)
    if (a.type < 0x8000 && std::find(std::begin(known), std::end(known), a.type) == std::end(known))
      out.push_back(a.type);
  return out;
}

bool looks_like_stun(std::span<const std::uint8_t> d) {
  return d.size() >= kStunHeaderSize && d[0] < 4 && get32(d.data() + 4) == kStunMagicCookie;
}

Result<StunMessage> parse_stun(std::span<const std::uint8_t> d) {
  if (d.size() < kStunHeaderSize) return make_error("stun-too-short", "STUN message shorter than its 20-byte header");
  const std::uint16_t type = get16(d.data());
  const std::size_t length = get16(d.data() + 2);
  if ((type & 0xC000) != 0) return make_error("stun-bad-header", "STUN message type has its top two bits set", 0);
  if (length % 4 != 0 || length + kStunHeaderSize != d.size())
    return make_error("stun-bad-header", "STUN length field does not match the datagram", 2);
  if (get32(d.data() + 4) != kStunMagicCookie) return make_error("stun-bad-header", "no STUN magic cookie", 4);
  StunMessage m;
  m.type = type;
  std::copy_n(d.begin() + 8, 12, m.transaction_id.begin());
  m.raw = d;
  std::size_t pos = kStunHeaderSize;
  bool fingerprint_seen = false;
  while (pos < d.size()) {
    if (d.size() - pos < 4) return make_error("stun-bad-attribute", "truncated STUN attribute header", pos);
    if (fingerprint_seen)
      return make_error("stun-attribute-after-fingerprint", "STUN attribute after FINGERPRINT", pos);
    if (m.attributes.size() == kMaxStunAttributes)
      return make_error("stun-too-many-attributes", "more than 64 STUN attributes", pos);
    const std::uint16_t at = get16(d.data() + pos);
    const std::size_t alen = get16(d.data() + pos + 2);
    const std::size_t padded = (alen + 3) & ~std::size_t{3};  // RFC 8489 14: 32-bit boundary
    if (padded > d.size() - pos - 4) return make_error("stun-bad-attribute", "STUN attribute runs past the end", pos);
    m.attributes.push_back({at, pos, d.subspan(pos + 4, alen)});
    fingerprint_seen = at == kStunFingerprint;
    pos += 4 + padded;
  }
  return m;
}

bool check_message_integrity(const StunMessage& m, std::string_view key) {
  const StunAttribute* mi = m.find(kStunMessageIntegrity);
  if (!mi || mi->value.size() != 20) return false;
  // Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 8489 14.5); the
  // length covers up to the end of MESSAGE-INTEGRITY.
  const auto head = header_with_length(m.raw, mi->offset + 4 + 20 - kStunHeaderSize);
  std::uint8_t mac[20];
  if (!hmac_sha1(key, head, m.raw.subspan(kStunHeaderSize, mi->offset - kStunHeaderSize), mac)) return false;
  return CRYPTO_memcmp(mac, mi->value.data(), 20) == 0;
}

bool check_fingerprint(const StunMessage& m) {
  const StunAttribute* fp = m.find(kStunFingerprint);
  if (!fp || fp->value.size() != 4) return false;
  const auto head = header_with_length(m.raw, fp->offset + 8 - kStunHeaderSize);
  std::vector<std::uint8_t> covered(head.begin(), head.end());
  covered.insert(covered.end(), m.raw.begin() + kStunHeaderSize, m.raw.begin() + static_cast<std::ptrdiff_t>(fp->offset));
  return (crc32(covered) ^ kFingerprintXor) == get32(fp->value.data());
}

std::optional<StunAddress> xor_mapped_address(const StunMessage& m) {
  const StunAttribute* a = m.find(kStunXorMappedAddress);
  if (!a || a->value.size() < 8) return std::nullopt;
  const std::uint8_t family = a->value[1];
  const std::size_t n = family == 1 ? 4 : family == 2 ? 16 : 0;
  if (n == 0 || a->value.size() != 4 + n) return std::nullopt;
  StunAddress out;
  out.port = static_cast<std::uint16_t>(get16(a->value.data() + 2) ^ (kStunMagicCookie >> 16));
  std::uint8_t mask[16];
  put32(mask, kStunMagicCookie);
  std::copy(m.transaction_id.begin(), m.transaction_id.end(), mask + 4);
  for (std::size_t i = 0; i < n; ++i) out.address.push_back(a->value[4 + i] ^ mask[i]);
  return out;
}

StunBuilder::StunBuilder(std::uint16_t type, const StunTransactionId& id) : buf_(kStunHeaderSize, 0) {
  put16(buf_.data(), type);
  put32(buf_.data() + 4, kStunMagicCookie);
  std::copy(id.begin(), id.end(), buf_.begin() + 8);
}

void StunBuilder::set_length() { put16(buf_.data() + 2, static_cast<std::uint32_t>(buf_.size() - kStunHeaderSize)); }

StunBuilder& StunBuilder::add(std::uint16_t type, std::span<const std::uint8_t> value) {
  const std::size_t at = buf_.size();
  buf_.resize(at + 4);
  put16(buf_.data() + at, type);
  put16(buf_.data() + at + 2, static_cast<std::uint32_t>(value.size()));
  buf_.insert(buf_.end(), value.begin(), value.end());
  while (buf_.size() % 4) buf_.push_back(0);
  set_length();
  return *this;
}

StunBuilder& StunBuilder::add_string(std::uint16_t type, std::string_view v) {
  return add(type, {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
}

StunBuilder& StunBuilder::add_u32(std::uint16_t type, std::uint32_t v) {
  std::uint8_t b[4];
  put32(b, v);
  return add(type, b);
}

StunBuilder& StunBuilder::add_u64(std::uint16_t type, std::uint64_t v) {
  std::uint8_t b[8];
  put32(b, static_cast<std::uint32_t>(v >> 32));
  put32(b + 4, static_cast<std::uint32_t>(v));
  return add(type, b);
}

StunBuilder& StunBuilder::add_xor_address(std::span<const std::uint8_t> address, std::uint16_t port) {
  std::vector<std::uint8_t> v(4 + address.size());
  v[1] = address.size() == 4 ? 1 : 2;
  put16(v.data() + 2, port ^ (kStunMagicCookie >> 16));
  std::uint8_t mask[16];
  put32(mask, kStunMagicCookie);
  std::copy(buf_.begin() + 8, buf_.begin() + 20, mask + 4);
  for (std::size_t i = 0; i < address.size() && i < 16; ++i) v[4 + i] = address[i] ^ mask[i];
  return add(kStunXorMappedAddress, v);
}

StunBuilder& StunBuilder::add_error(int code, std::string_view reason) {
  std::vector<std::uint8_t> v(4);
  v[2] = static_cast<std::uint8_t>(code / 100);
  v[3] = static_cast<std::uint8_t>(code % 100);
  v.insert(v.end(), reason.begin(), reason.end());
  return add(kStunErrorCode, v);
}

std::vector<std::uint8_t> StunBuilder::finish(std::optional<std::string_view> key, bool fingerprint) {
  if (key) {
    // Length first counts the MESSAGE-INTEGRITY attribute (RFC 8489 14.5).
    const std::size_t at = buf_.size();
    put16(buf_.data() + 2, static_cast<std::uint32_t>(at + 24 - kStunHeaderSize));
    std::uint8_t mac[20] = {};
    hmac_sha1(*key, std::span<const std::uint8_t>(buf_.data(), kStunHeaderSize),
              std::span<const std::uint8_t>(buf_.data() + kStunHeaderSize, at - kStunHeaderSize), mac);
    add(kStunMessageIntegrity, mac);
  }
  if (fingerprint) {
    const std::size_t at = buf_.size();
    put16(buf_.data() + 2, static_cast<std::uint32_t>(at + 8 - kStunHeaderSize));
    add_u32(kStunFingerprint, crc32(buf_) ^ kFingerprintXor);
  }
  return std::move(buf_);
}

}  // namespace exphone::media
