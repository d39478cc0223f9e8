// Header names the stack knows, with RFC 3261 section 7.3.3 compact forms.
#pragma once

#include <cstdint>
#include <string_view>

namespace exphone::sip {

enum class HeaderId : std::uint8_t {
  kOther = 0,  // an extension header: kept in order, identified by its name
  kAccept, kAcceptEncoding, kAcceptLanguage, kAlertInfo, kAllow, kAllowEvents,
  kAuthenticationInfo, kAuthorization, kCallId, kCallInfo, kContact, kContentDisposition,
  kContentEncoding, kContentLanguage, kContentLength, kContentType, kCSeq, kDate, kErrorInfo,
  kEvent, kExpires, kFrom, kInReplyTo, kMaxForwards, kMinExpires, kMinSE, kMimeVersion,
  kOrganization, kPath, kPriority, kProxyAuthenticate, kProxyAuthorization, kProxyRequire,
  kRAck, kReason, kRecordRoute, kReferTo, kReferredBy, kReplyTo, kRequire, kRetryAfter, kRoute,
  kRSeq, kServer, kSessionExpires, kSubject, kSubscriptionState, kSupported, kTimestamp, kTo,
  kUnsupported, kUserAgent, kVia, kWarning, kWWWAuthenticate,
  kCount
};

// Looks a header name up, case-insensitively, including compact forms ("v", "i", "m"...).
HeaderId lookup_header(std::string_view name);
// The same for a name already known to be an RFC 3261 token (the parser checked it).
HeaderId lookup_token_header(std::string_view token);

// The canonical (long, RFC-cased) name, e.g. "Call-ID"; empty for kOther.
std::string_view header_name(HeaderId id);

// True for headers whose grammar is a comma-separated list (RFC 3261 section 7.3.1), so that
// several values may share one line: Via, Contact, Route, Record-Route, Allow, Supported...
bool is_list_header(HeaderId id);

}  // namespace exphone::sip
