// Side-by-side SIP parser benchmark: exphone vs. GNU oSIP2, libre, sofia-sip.
//
// Every benchmark parses the same bytes (bench/messages.h) and reads back the
// same fields into a PeerSummary (bench/peers/peer.h): Call-ID, CSeq number
// and method, status code or method, body length, From/To tags, top Via
// branch. Before any timing, main() runs every parser on every message and
// aborts unless the read-back values are exactly the expected ones, so each
// benchmark is known to measure a real, complete parse.
//
// Names: BM_Parse/<parser>/<message>, e.g. BM_Parse/osip2/invite_sdp.
// Run:   taskset -c 1 ./sip_parse_bench --benchmark_repetitions=5
//            --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "messages.h"
#include "peers/peer.h"

#include "sip/message.h"

// ============================== EXPHONE: ==============================
// Lead engineer: include exphone's SIP parser header(s) here, implement
// exphone_parse() and set kExphoneImplemented to true.
//
// Contract (same as the peers, see bench/peers/peer.h):
//   * parse data[0, len) with exphone's normal entry point (one complete parse);
//   * call out.reset() first, then fill every PeerSummary field:
//       call_id, cseq, cseq_method, status (responses) or method (requests),
//       body_len, from_tag, to_tag (may stay empty), via_branch (top Via);
//     strings are copied with InlineField::assign(ptr, len) / assign(string_view);
//   * release everything the parse allocated before returning (the peers do);
//   * return false if the message is rejected.
// -----------------------------------------------------------------------
namespace {

using exphone::bench::PeerSummary;

constexpr bool kExphoneImplemented = true;

// What the stack needs from every message: the start line and the header index (Message::parse),
// then all Vias, From/To with their tags, Call-ID, CSeq and Content-Length parsed. The input is
// copied into the message's own buffer, as the peers copy it into theirs.
bool exphone_parse(const char* data, std::size_t len, PeerSummary& out) {
  out.reset();
  auto m = exphone::sip::Message::parse(std::string_view(data, len));
  if (!m) return false;
  auto vias = m->vias();
  auto from = m->from();
  auto to = m->to();
  auto cseq = m->cseq();
  if (!vias || vias->empty() || !from || !to || !cseq || !m->content_length()) return false;
  out.call_id.assign(m->call_id());
  out.cseq = cseq->number;
  out.cseq_method.assign(cseq->method);
  if (m->is_request())
    out.method.assign(m->method());
  else
    out.status = m->status();
  out.body_len = m->body().size();
  out.from_tag.assign(from->tag());
  out.to_tag.assign(to->tag());
  out.via_branch.assign(vias->front().branch());
  return true;
}

}  // namespace
// ============================ end EXPHONE ============================

namespace {

using exphone::bench::kMessages;
using exphone::bench::ParseFn;

void run_parse(benchmark::State& state, ParseFn parse, std::size_t msg_index) {
  const auto& msg = kMessages[msg_index];
  const char* const data = msg.text.data();
  const std::size_t len = msg.text.size();
  PeerSummary s;
  for (auto _ : state) {
    bool ok = parse(data, len, s);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(s.call_id.size);
    benchmark::DoNotOptimize(s.cseq);
    benchmark::DoNotOptimize(s.cseq_method.size);
    benchmark::DoNotOptimize(s.status);
    benchmark::DoNotOptimize(s.method.size);
    benchmark::DoNotOptimize(s.body_len);
    benchmark::DoNotOptimize(s.from_tag.size);
    benchmark::DoNotOptimize(s.to_tag.size);
    benchmark::DoNotOptimize(s.via_branch.size);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(len));
}

void BM_Parse(benchmark::State& state, ParseFn parse, std::size_t msg_index) {
  run_parse(state, parse, msg_index);
}

void BM_ParseExphone(benchmark::State& state, std::size_t msg_index) {
  if (!kExphoneImplemented) {
    state.SkipWithError("exphone_parse() not implemented yet (see EXPHONE: section)");
    for (auto _ : state) {
    }
    return;
  }
  run_parse(state, &exphone_parse, msg_index);
}

}  // namespace

// Message indices into kMessages: 0 invite_sdp, 1 register_200, 2 ringing_180.
static_assert(kMessages[0].name == "invite_sdp" && kMessages[1].name == "register_200" &&
              kMessages[2].name == "ringing_180");

// EXPHONE: registered like the peers; skipped with an error until implemented.
BENCHMARK_CAPTURE(BM_ParseExphone, exphone/invite_sdp, 0);
BENCHMARK_CAPTURE(BM_ParseExphone, exphone/register_200, 1);
BENCHMARK_CAPTURE(BM_ParseExphone, exphone/ringing_180, 2);

BENCHMARK_CAPTURE(BM_Parse, osip2/invite_sdp, &exphone::bench::osip2_parse, 0);
BENCHMARK_CAPTURE(BM_Parse, osip2/register_200, &exphone::bench::osip2_parse, 1);
BENCHMARK_CAPTURE(BM_Parse, osip2/ringing_180, &exphone::bench::osip2_parse, 2);

BENCHMARK_CAPTURE(BM_Parse, libre/invite_sdp, &exphone::bench::libre_parse, 0);
BENCHMARK_CAPTURE(BM_Parse, libre/register_200, &exphone::bench::libre_parse, 1);
BENCHMARK_CAPTURE(BM_Parse, libre/ringing_180, &exphone::bench::libre_parse, 2);

BENCHMARK_CAPTURE(BM_Parse, sofia/invite_sdp, &exphone::bench::sofia_parse, 0);
BENCHMARK_CAPTURE(BM_Parse, sofia/register_200, &exphone::bench::sofia_parse, 1);
BENCHMARK_CAPTURE(BM_Parse, sofia/ringing_180, &exphone::bench::sofia_parse, 2);

namespace {

// Parse every message with `parse` and compare the read-back fields with the
// expected values. Returns true if all match; prints the mismatches otherwise.
bool verify_parser(const char* name, ParseFn parse) {
  bool all_ok = true;
  for (const auto& m : kMessages) {
    PeerSummary s;
    const bool ok = parse(m.text.data(), m.text.size(), s);
    const std::string why = exphone::bench::check_summary(s, m);
    if (!ok || !why.empty()) {
      std::fprintf(stderr, "sip_parse_bench: %s failed on %.*s: %s%s\n", name,
                   static_cast<int>(m.name.size()), m.name.data(),
                   ok ? "" : "parse returned false; ", why.c_str());
      all_ok = false;
    }
  }
  return all_ok;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  exphone::bench::init_all_peers();

  bool ok = true;
  for (const auto& peer : exphone::bench::kPeers) ok = verify_parser(peer.name, peer.parse) && ok;
  if (kExphoneImplemented) {
    ok = verify_parser("exphone", &exphone_parse) && ok;
  } else {
    std::fprintf(stderr,
                 "sip_parse_bench: exphone_parse() is still the placeholder; "
                 "exphone benchmarks will be skipped\n");
  }
  if (!ok) {
    std::fprintf(stderr,
                 "sip_parse_bench: read-back verification failed, refusing to benchmark\n");
    std::abort();
  }
  std::fprintf(stderr, "sip_parse_bench: verified %zu parsers x %zu messages\n",
               std::size(exphone::bench::kPeers) + (kExphoneImplemented ? 1u : 0u),
               kMessages.size());

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  exphone::bench::libre_bench_close();
  return 0;
}
