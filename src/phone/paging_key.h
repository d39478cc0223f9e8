// The group key of an authenticated paging group: one SRTP master key and salt (RFC 3711 8.2)
// shared by the group's senders and receivers, kept in a small TOML file, mode 0600:
//
//   # exphone paging group key
//   suite = "AES_CM_128_HMAC_SHA1_80"   # any SrtpSuite name (RFC 4568 / 6188 / 7714)
//   key = "<base64 of master key || master salt>"
//
// Every page goes out under a fresh random SSRC (RFC 3550 8.1) and random initial sequence
// number, so two pages under one key never reuse an SRTP index (keystream reuse, RFC 3711 9.1).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "media/srtp_session.h"

namespace exphone::phone {

// Errors: paging-key ("FILE: ...": unreadable, readable by group/others, syntax, unknown key,
// unknown suite, bad base64, wrong length for the suite).
Result<media::SrtpKey> load_paging_key(const std::string& path);
Result<media::SrtpKey> parse_paging_key(std::string_view text, const std::string& source_name);
std::string format_paging_key(const media::SrtpKey& key);
// Writes a new file with mode 0600 (refuses to overwrite). Errors: paging-key.
Status write_paging_key(const std::string& path, const media::SrtpKey& key);

}  // namespace exphone::phone
