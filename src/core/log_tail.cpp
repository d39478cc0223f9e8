#include "core/log_tail.h"

namespace exphone {

class LogTail::Tee : public std::streambuf {
 public:
  Tee(LogTail& tail, std::ostream& stream) : tail_(tail), stream_(stream), original_(stream.rdbuf()) { stream_.rdbuf(this); }
  ~Tee() override { stream_.rdbuf(original_); }

 protected:
  int overflow(int ch) override {
    if (ch == traits_type::eof()) return traits_type::not_eof(ch);
    const char c = static_cast<char>(ch);
    tail_.keep(&c, 1);
    return original_->sputc(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n > 0) tail_.keep(s, static_cast<std::size_t>(n));
    return original_->sputn(s, n);
  }
  int sync() override { return original_->pubsync(); }

 private:
  LogTail& tail_;
  std::ostream& stream_;
  std::streambuf* original_;
};

LogTail::LogTail(std::initializer_list<std::ostream*> streams, std::size_t capacity) : capacity_(capacity) {
  for (std::ostream* s : streams) tees_.push_back(std::make_unique<Tee>(*this, *s));
}

LogTail::~LogTail() {
  while (!tees_.empty()) tees_.pop_back();  // restore in reverse order
}

void LogTail::keep(const char* s, std::size_t n) {
  std::lock_guard lock(mutex_);
  ring_.append(s, n);
  if (ring_.size() > capacity_ + capacity_ / 4) ring_.erase(0, ring_.size() - capacity_);  // amortized trim
}

std::string LogTail::text() const {
  std::lock_guard lock(mutex_);
  std::size_t start = ring_.size() > capacity_ ? ring_.size() - capacity_ : 0;
  if (start > 0) {
    const std::size_t nl = ring_.find('\n', start);
    start = nl == std::string::npos ? ring_.size() : nl + 1;
  }
  return ring_.substr(start);
}

}  // namespace exphone
