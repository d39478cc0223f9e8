#include "sip/header_id.h"

#include <array>
#include <cstring>

#include "core/text.h"

namespace exphone::sip {
namespace {

struct Entry {
  std::string_view name;
  HeaderId id;
  bool list;
};

constexpr std::array<Entry, static_cast<std::size_t>(HeaderId::kCount)> kEntries = {{
    {"", HeaderId::kOther, false},
    {"Accept", HeaderId::kAccept, true},
    {"Accept-Encoding", HeaderId::kAcceptEncoding, true},
    {"Accept-Language", HeaderId::kAcceptLanguage, true},
    {"Alert-Info", HeaderId::kAlertInfo, true},
    {"Allow", HeaderId::kAllow, true},
    {"Allow-Events", HeaderId::kAllowEvents, true},
    {"Authentication-Info", HeaderId::kAuthenticationInfo, false},
    {"Authorization", HeaderId::kAuthorization, false},
    {"Call-ID", HeaderId::kCallId, false},
    {"Call-Info", HeaderId::kCallInfo, true},
    {"Contact", HeaderId::kContact, true},
    {"Content-Disposition", HeaderId::kContentDisposition, false},
    {"Content-Encoding", HeaderId::kContentEncoding, true},
    {"Content-Language", HeaderId::kContentLanguage, true},
    {"Content-Length", HeaderId::kContentLength, false},
    {"Content-Type", HeaderId::kContentType, false},
    {"CSeq", HeaderId::kCSeq, false},
    {"Date", HeaderId::kDate, false},
    {"Error-Info", HeaderId::kErrorInfo, true},
    {"Event", HeaderId::kEvent, false},
    {"Expires", HeaderId::kExpires, false},
    {"From", HeaderId::kFrom, false},
    {"In-Reply-To", HeaderId::kInReplyTo, true},
    {"Max-Forwards", HeaderId::kMaxForwards, false},
    {"Min-Expires", HeaderId::kMinExpires, false},
    {"Min-SE", HeaderId::kMinSE, false},
    {"MIME-Version", HeaderId::kMimeVersion, false},
    {"Organization", HeaderId::kOrganization, false},
    {"Path", HeaderId::kPath, true},
    {"Priority", HeaderId::kPriority, false},
    {"Proxy-Authenticate", HeaderId::kProxyAuthenticate, false},
    {"Proxy-Authorization", HeaderId::kProxyAuthorization, false},
    {"Proxy-Require", HeaderId::kProxyRequire, true},
    {"RAck", HeaderId::kRAck, false},
    {"Reason", HeaderId::kReason, true},
    {"Record-Route", HeaderId::kRecordRoute, true},
    {"Refer-To", HeaderId::kReferTo, false},
    {"Referred-By", HeaderId::kReferredBy, false},
    {"Reply-To", HeaderId::kReplyTo, false},
    {"Require", HeaderId::kRequire, true},
    {"Retry-After", HeaderId::kRetryAfter, false},
    {"Route", HeaderId::kRoute, true},
    {"RSeq", HeaderId::kRSeq, false},
    {"Server", HeaderId::kServer, false},
    {"Session-Expires", HeaderId::kSessionExpires, false},
    {"Subject", HeaderId::kSubject, false},
    {"Subscription-State", HeaderId::kSubscriptionState, false},
    {"Supported", HeaderId::kSupported, true},
    {"Timestamp", HeaderId::kTimestamp, false},
    {"To", HeaderId::kTo, false},
    {"Unsupported", HeaderId::kUnsupported, true},
    {"User-Agent", HeaderId::kUserAgent, false},
    {"Via", HeaderId::kVia, true},
    {"Warning", HeaderId::kWarning, true},
    {"WWW-Authenticate", HeaderId::kWWWAuthenticate, false},
}};

static_assert([] {
  for (std::size_t i = 0; i < kEntries.size(); ++i)
    if (static_cast<std::size_t>(kEntries[i].id) != i) return false;
  return true;
}());

// Compact forms: RFC 3261 section 7.3.3 and the extensions that registered one
// (RFC 3265 o/u, RFC 3515 r, RFC 3892 b, RFC 4028 x, RFC 3841 a/j/d are not modelled).
HeaderId compact(char c) {
  switch (text::to_lower(c)) {
    case 'i': return HeaderId::kCallId;
    case 'm': return HeaderId::kContact;
    case 'e': return HeaderId::kContentEncoding;
    case 'l': return HeaderId::kContentLength;
    case 'c': return HeaderId::kContentType;
    case 'f': return HeaderId::kFrom;
    case 's': return HeaderId::kSubject;
    case 'k': return HeaderId::kSupported;
    case 't': return HeaderId::kTo;
    case 'v': return HeaderId::kVia;
    case 'o': return HeaderId::kEvent;
    case 'u': return HeaderId::kAllowEvents;
    case 'r': return HeaderId::kReferTo;
    case 'b': return HeaderId::kReferredBy;
    case 'x': return HeaderId::kSessionExpires;
    default: return HeaderId::kOther;
  }
}

// Index by (length, first letter): almost every cell holds one name, so a lookup is one table
// read and one case-insensitive compare.
constexpr std::size_t kMaxLen = 24;
struct Index {
  std::array<std::array<std::array<std::uint8_t, 3>, 26>, kMaxLen + 1> ids{};
};

constexpr Index make_index() {
  Index ix{};
  for (std::size_t i = 1; i < kEntries.size(); ++i) {
    std::string_view n = kEntries[i].name;
    char c = n[0];
    std::size_t b = static_cast<std::size_t>(c >= 'a' ? c - 'a' : c - 'A');
    auto& cell = ix.ids[n.size()][b];
    std::size_t k = 0;
    while (cell[k] != 0) ++k;  // a fourth collision fails to compile (out of bounds)
    cell[k] = static_cast<std::uint8_t>(i);
  }
  return ix;
}

constexpr Index kIndex = make_index();

// Case-insensitive equality for two RFC 3261 tokens of equal length: OR-ing 0x20 folds case for
// letters and changes no other token character into another one ('_' becomes DEL, which is
// not a token character).
bool token_iequals(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if ((x | 0x2020202020202020ull) != (y | 0x2020202020202020ull)) return false;
  }
  // Two token characters that differ only in bit 0x20 are the same letter in another case.
  unsigned diff = 0;
  for (; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return (diff & ~0x20u) == 0;
}

}  // namespace

HeaderId lookup_header(std::string_view name) {
  return text::is_token(name) ? lookup_token_header(name) : HeaderId::kOther;
}

HeaderId lookup_token_header(std::string_view name) {
  if (name.empty()) return HeaderId::kOther;
  if (name.size() == 1) return compact(name[0]);
  if (name.size() > kMaxLen) return HeaderId::kOther;
  char c = text::to_lower(name[0]);
  if (c < 'a' || c > 'z') return HeaderId::kOther;
  const auto& cell = kIndex.ids[name.size()][static_cast<std::size_t>(c - 'a')];
  for (std::uint8_t id : cell) {
    if (id == 0) break;
    if (token_iequals(kEntries[id].name, name)) return kEntries[id].id;
  }
  return HeaderId::kOther;
}

std::string_view header_name(HeaderId id) {
  auto i = static_cast<std::size_t>(id);
  return i < kEntries.size() ? kEntries[i].name : std::string_view{};
}

bool is_list_header(HeaderId id) {
  auto i = static_cast<std::size_t>(id);
  return i < kEntries.size() && kEntries[i].list;
}

}  // namespace exphone::sip
