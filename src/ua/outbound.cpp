#include "ua/outbound.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>

#include "core/random.h"
#include "core/text.h"

namespace exphone::ua {

namespace {

// exphone's namespace for name-based instance ids (RFC 4122 section 4.3 step 1: any UUID
// chosen once for the purpose).
constexpr std::array<std::uint8_t, 16> kNamespace = {0xba, 0xeb, 0x00, 0xf9, 0x7e, 0x8e, 0x47, 0x55,
                                                     0x8c, 0x78, 0xd6, 0x56, 0x51, 0xf0, 0xfd, 0xcb};

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// 16 bytes as 8-4-4-4-12 lower-case hex (RFC 4122 section 3).
std::string uuid_urn(const std::uint8_t* b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "urn:uuid:";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 0x0f];
  }
  return s;
}

// RFC 4122 section 4.1.3 and 4.1.1: version in the high nibble of byte 6, variant 10xx in byte 8.
void set_version(std::uint8_t* b, std::uint8_t version) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
}

}  // namespace

Result<std::string> parse_instance_id(std::string_view text) {
  auto bad = [&] {
    return make_error("config", "instance_id '" + std::string(text) +
                                    "' is not a UUID URN like urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6 "
                                    "(RFC 5626 section 4.1)");
  };
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (text.size() != kPrefix.size() + 36 || !text::iequals(text.substr(0, kPrefix.size()), kPrefix)) return bad();
  std::string out(kPrefix);
  std::string_view uuid = text.substr(kPrefix.size());
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? uuid[i] != '-' : !is_hex(uuid[i])) return bad();
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(uuid[i])));
  }
  return out;
}

Result<std::string> instance_id_from_machine_id(std::string_view machine_id) {
  if (machine_id.size() != 32) return make_error("instance-id", "machine id is not 32 hex digits");
  for (char c : machine_id)
    if (!is_hex(c)) return make_error("instance-id", "machine id is not 32 hex digits");
  // RFC 4122 section 4.3: SHA-1 over the namespace id and the name, first 16 bytes, version 5.
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, kNamespace.data(), kNamespace.size()) == 1 &&
            EVP_DigestUpdate(ctx, machine_id.data(), machine_id.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, md.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len < 16) return make_error("instance-id", "SHA-1 failed");
  set_version(md.data(), 5);
  return uuid_urn(md.data());
}

std::string random_instance_id() {
  auto b = random_bytes(16);
  set_version(b.data(), 4);  // RFC 4122 section 4.4
  return uuid_urn(b.data());
}

std::string register_contact(std::string_view contact_uri, const std::optional<OutboundFlow>& flow,
                             std::uint32_t expires) {
  std::string v = "<" + std::string(contact_uri);
  if (flow) v += ";ob";
  v += ">";
  if (flow) {
    // RFC 5626 section 4.1 / RFC 3840 section 9: the URN is a quoted string inside <>
    v += ";+sip.instance=\"<" + flow->instance_id + ">\"";
    v += ";reg-id=" + std::to_string(flow->reg_id);
  }
  v += ";expires=" + std::to_string(expires);
  return v;
}

bool registrar_applied_outbound(const sip::Message& ok) {
  auto tags = ok.option_tags(sip::HeaderId::kRequire);
  if (!tags) return false;
  for (auto t : *tags)
    if (text::iequals(t, "outbound")) return true;
  return false;
}

}  // namespace exphone::ua
