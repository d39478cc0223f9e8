// Phone <-> paging: the page side of hold and resume (RFC 3264 8.4 re-INVITEs via Call::hold).
#include <iostream>

#include "phone/phone.h"

namespace exphone::phone {

Status Phone::start_paging() {
  if (config_.paging.groups.empty() || paging_) return Ok{};
  auto p = Paging::open(env_.io, config_.paging, config_.audio_device, [this](bool hold) { hold_for_page(hold); });
  if (!p) return p.error();
  paging_ = std::move(*p);
  return Ok{};
}

void Phone::hold_for_page(bool hold) {
  if (hold) {
    for (auto& [id, call] : calls_) {
      if (call->state() != Call::State::kConfirmed || call->report().held) continue;  // the user's hold stays theirs
      if (Status s = call->hold(true); s) {
        page_held_.push_back(id);
        std::cerr << "paging: holding call " << id << " for the page\n";
      } else {
        std::cerr << "paging: cannot hold call " << id << ": " << s.error().message << "\n";
      }
    }
    return;
  }
  for (const auto& id : page_held_) {
    Call* c = find(id);
    if (!c || c->state() != Call::State::kConfirmed) continue;
    if (Status s = c->hold(false); !s) std::cerr << "paging: cannot resume call " << id << ": " << s.error().message << "\n";
    else std::cerr << "paging: resuming call " << id << "\n";
  }
  page_held_.clear();
}

}  // namespace exphone::phone
