#include "txn/rtt_estimates.h"

#include <algorithm>
#include <cmath>

namespace exphone::txn {

RttEstimates::Estimate& RttEstimates::entry(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) {  // bounded: the peer heard from least recently goes
      auto oldest = std::min_element(peers_.begin(), peers_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      peers_.erase(oldest);
    }
    it = peers_.emplace(peer, Estimate{}).first;
  }
  it->second.used = ++clock_;
  return it->second;
}

void RttEstimates::sample(const std::string& peer, Millis rtt) {
  Estimate& e = entry(peer);
  const double r = static_cast<double>(rtt.count());
  if (e.srtt_ms == 0 && e.rttvar_ms == 0) {  // RFC 6298 2.2: the first measurement
    e.srtt_ms = std::max(r, 1.0);
    e.rttvar_ms = r / 2;
  } else {  // RFC 6298 2.3
    e.rttvar_ms = 0.75 * e.rttvar_ms + 0.25 * std::fabs(e.srtt_ms - r);
    e.srtt_ms = 0.875 * e.srtt_ms + 0.125 * r;
  }
  e.backoff_ms = 0;
}

void RttEstimates::backed_off(const std::string& peer, Millis t1) {
  Estimate& e = entry(peer);
  e.backoff_ms = std::max(e.backoff_ms, 2.0 * static_cast<double>(t1.count()));
}

Millis RttEstimates::t1(const std::string& peer, const TimerConfig& config) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return config.t1;
  const Estimate& e = it->second;
  double ms = e.srtt_ms > 0 ? e.srtt_ms + 4 * e.rttvar_ms : 0;
  ms = std::max(ms, e.backoff_ms);
  ms = std::min(ms, static_cast<double>(config.t2.count()));
  return std::max(config.t1, Millis{static_cast<long>(std::ceil(ms))});
}

}  // namespace exphone::txn
