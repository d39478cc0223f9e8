// The device's idea of "now" for certificate checks: the system clock, corrected by the offset
// an SNTP exchange measured (RFC 4330 section 5) when the process cannot or should not set the
// system clock. Written by the SNTP client (src/clock), read by TLS verification
// (net/tls: X509_VERIFY_PARAM_set_time) and the status report. Event-loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace exphone {

// When this build was configured (CMake string(TIMESTAMP), honours SOURCE_DATE_EPOCH), rounded
// down to the day. A system clock before it is implausible: the device has no idea of the time.
std::time_t build_time();

class TrustedClock {
 public:
  struct Sync {
    std::chrono::nanoseconds offset{0};  // NTP time - system time, RFC 4330 section 5
    std::chrono::nanoseconds delay{0};   // round-trip delay of that exchange
    std::string server;                  // "host:port" that answered
    std::time_t at = 0;                  // trusted time of the sync (seconds since 1970)
  };

  void set_sync(Sync s) { sync_ = std::move(s); }
  const std::optional<Sync>& last_sync() const { return sync_; }
  bool synchronized() const { return sync_.has_value(); }

  // Whether NTP servers are configured at all (false: the system clock is trusted as it is).
  void set_ntp_configured(bool on) { ntp_configured_ = on; }
  bool ntp_configured() const { return ntp_configured_; }

  std::chrono::system_clock::time_point system_now() const { return std::chrono::system_clock::now(); }
  bool system_plausible() const;  // system clock >= build_time()
  // The time to trust: system time + offset when synchronized, else the system time.
  std::chrono::system_clock::time_point now() const;
  // The certificate verification time when it must differ from the system clock (synchronized
  // by NTP); nullopt = let OpenSSL use the system clock.
  std::optional<std::time_t> verify_time() const;
  // "ntp HOST:PORT" or "system".
  std::string source() const;
  // True unless the system clock is implausible and NTP never answered ("clock-unsynchronized").
  bool plausible() const { return synchronized() || system_plausible(); }

 private:
  std::optional<Sync> sync_;
  bool ntp_configured_ = false;
};

// "YYYY-MM-DD HH:MM:SS UTC"
std::string format_utc(std::time_t t);

}  // namespace exphone
