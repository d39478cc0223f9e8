// A SIP message (RFC 3261 section 7): start line, headers in order, body.
//
// Ownership: a Message owns the bytes it was parsed from (and any text added later); every
// string_view it hands out — header values, typed header views, URIs — points into that storage
// and stays valid exactly as long as the Message lives. Moving a Message keeps them valid (the
// storage is on the heap); Message is not copyable, so a view can never silently outlive a copy.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/header_id.h"
#include "sip/headers.h"
#include "sip/limits.h"
#include "sip/uri.h"

namespace exphone::sip {

struct Header {
  std::string_view name;   // as written ("v", "VIA", "X-Foo")
  std::string_view value;  // trimmed; folded lines already joined with a single SP
  HeaderId id = HeaderId::kOther;
};

class Message {
 public:
  // Parses one message from a datagram (or one framed stream message). The message keeps its
  // own copy of `bytes` (one allocation). Errors name what is wrong and its byte offset.
  static Result<Message> parse(std::string_view bytes, const Limits& limits = {});

  // Starts an empty request or response to be filled by the UA layers.
  static Result<Message> request(std::string_view method, std::string_view request_uri);
  static Message response(int status, std::string_view reason);

  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  // --- start line ---
  bool is_request() const { return status_ == 0; }
  bool is_response() const { return status_ != 0; }
  std::string_view method() const { return method_; }            // requests
  const Uri& request_uri() const { return request_uri_; }        // requests
  int status() const { return status_; }                         // responses
  std::string_view reason() const { return reason_; }            // responses
  std::string_view version() const { return version_; }          // "SIP/2.0" as written

  // --- headers ---
  const std::vector<Header>& headers() const { return headers_; }
  const Header* find(HeaderId id) const;
  const Header* find(std::string_view name) const;  // any name; compact forms resolve
  std::size_t count(HeaderId id) const;
  // All values of a list header across all of its lines, in order (RFC 3261 section 7.3.1).
  Result<std::vector<std::string_view>> values(HeaderId id) const;

  // --- typed access (parsed on each call; cheap, no allocation beyond the vectors) ---
  Result<std::vector<Via>> vias() const;
  Result<Via> top_via() const;
  Result<NameAddr> from() const;
  Result<NameAddr> to() const;
  std::string_view call_id() const;  // "" when absent
  Result<CSeq> cseq() const;
  std::optional<std::uint32_t> max_forwards() const;  // nullopt when absent or malformed
  std::optional<std::uint32_t> expires() const;
  Result<std::vector<Contact>> contacts() const;
  Result<std::vector<NameAddr>> routes(HeaderId id = HeaderId::kRoute) const;
  Result<MediaType> content_type() const;
  Result<std::vector<std::string_view>> option_tags(HeaderId id) const;  // Require, Supported...

  // --- body (RFC 3261 section 7.4, 18.3) ---
  std::string_view body() const { return body_; }
  // Content-Length value when present; nullopt when absent.
  std::optional<std::uint32_t> content_length() const { return content_length_; }
  // True when the datagram held fewer body bytes than Content-Length announced (section 18.3:
  // a request like that gets 400, a response is discarded).
  bool body_truncated() const { return body_truncated_; }

  // A defect found while parsing that does not stop the message from being modelled but makes
  // it one a UAS must refuse with 400: a malformed Request-URI or Content-Length, conflicting
  // Content-Length headers, a truncated body. nullptr when none.
  const Error* defect() const { return defect_ ? &*defect_ : nullptr; }

  // --- building ---
  void add_header(std::string_view name, std::string_view value);
  void add_header(HeaderId id, std::string_view value) { add_header(header_name(id), value); }
  void remove_headers(HeaderId id);
  void set_body(std::string_view content_type, std::string_view body);  // also sets Content-Length

  const Limits& limits() const { return limits_; }

 private:
  Message() = default;
  std::string_view keep(std::string_view text);  // copies into owned storage

  std::unique_ptr<char[]> buffer_;        // the parsed bytes
  std::size_t buffer_size_ = 0;
  std::vector<std::unique_ptr<std::string>> owned_;  // text added after parsing (stable addresses)
  Limits limits_;

  std::string_view method_;
  Uri request_uri_;
  int status_ = 0;
  std::string_view reason_;
  std::string_view version_;
  std::vector<Header> headers_;
  std::string_view body_;
  std::optional<std::uint32_t> content_length_;
  bool body_truncated_ = false;
  std::optional<Error> defect_;

  friend struct MessageParser;
};

// Canonical wire form: "Name: value" with full header names, CRLF line ends, body last.
std::string serialize(const Message& m);

// Same start line, same headers (by id, or name for extension headers) with the same values in
// the same order, same body. The property checked by round trips: equivalent(parse(serialize(m)), m).
bool equivalent(const Message& a, const Message& b);

}  // namespace exphone::sip
