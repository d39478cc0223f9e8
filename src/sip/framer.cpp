#include "sip/framer.h"

#include "core/text.h"
#include "sip/header_id.h"

namespace exphone::sip {

Error StreamFramer::fail(std::string code, std::string message) {
  failed_ = true;
  return make_error(std::move(code), std::move(message));
}

Status StreamFramer::feed(std::string_view bytes) {
  if (failed_) return make_error("sip-stream-failed", "stream framing was lost; reset the connection");
  if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    start_ = 0;
  }
  // One message plus a little slack is all we ever need buffered.
  if (buffered() + bytes.size() > limits_.max_message_size + 4)
    return fail("sip-too-large", "more than " + std::to_string(limits_.max_message_size) +
                                     " bytes buffered without a complete message");
  buf_.append(bytes);
  return Ok{};
}

Result<StreamFramer::Event> StreamFramer::next(std::string* message) {
  if (failed_) return make_error("sip-stream-failed", "stream framing was lost; reset the connection");
  // A bare LF between messages: tolerate and skip (section 7.5).
  while (start_ < buf_.size() && buf_[start_] == '\n') ++start_;
  std::string_view s(buf_);
  s.remove_prefix(start_);

  // Keepalives between messages (RFC 5626 section 3.5.1).
  if (!s.empty() && (s[0] == '\r' || s[0] == '\n')) {
    if (s.substr(0, 4) == "\r\n\r\n") {
      start_ += 4;
      return Event::kPing;
    }
    if (s.size() >= 2 && s.substr(0, 2) == "\r\n") {
      if (s.size() == 2 && !client_) return Event::kNeedMore;  // maybe half a ping
      start_ += 2;
      return Event::kPong;
    }
    if (s.size() == 1) return Event::kNeedMore;
    return fail("sip-bad-stream", "stray CR between messages");
  }
  if (s.empty()) return Event::kNeedMore;

  // End of the header section: CRLFCRLF (or LFLF from lenient senders).
  std::size_t end = s.find("\r\n\r\n");
  std::size_t sep = 4;
  std::size_t lflf = s.find("\n\n");
  if (lflf != std::string_view::npos && (end == std::string_view::npos || lflf < end)) {
    end = lflf;
    sep = 2;
  }
  if (end == std::string_view::npos) {
    if (s.size() > limits_.max_message_size)
      return fail("sip-too-large", "header section exceeds " + std::to_string(limits_.max_message_size) + " bytes");
    return Event::kNeedMore;
  }
  std::string_view head = s.substr(0, end + sep);

  // Find Content-Length (or compact "l") at the start of a header line. On a stream it is
  // mandatory (section 18.3, 20.14).
  std::optional<std::uint64_t> length;
  std::size_t pos = head.find('\n');  // skip the start line
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    std::size_t line = pos + 1;
    std::size_t eol = head.find('\n', line);
    std::string_view l = head.substr(line, eol == std::string_view::npos ? eol : eol - line);
    std::size_t colon = l.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = text::trim_right(l.substr(0, colon));
      if (lookup_header(name) == HeaderId::kContentLength) {
        auto n = text::parse_uint(text::trim(l.substr(colon + 1)), limits_.max_message_size);
        if (!n) return fail("sip-bad-content-length", "Content-Length missing a number or larger than " +
                                                          std::to_string(limits_.max_message_size));
        if (length && *length != *n) return fail("sip-bad-content-length", "conflicting Content-Length headers");
        length = n;
      }
    }
    pos = eol;
  }
  if (!length) return fail("sip-missing-content-length", "a message on a stream transport needs Content-Length");
  std::size_t total = head.size() + static_cast<std::size_t>(*length);
  if (total > limits_.max_message_size)
    return fail("sip-too-large", "message of " + std::to_string(total) + " bytes exceeds the limit of " +
                                     std::to_string(limits_.max_message_size));
  if (s.size() < total) return Event::kNeedMore;
  if (message) message->assign(s.substr(0, total));
  start_ += total;
  return Event::kMessage;
}

}  // namespace exphone::sip
