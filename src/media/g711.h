// G.711 (ITU-T G.711) mu-law and A-law: 16-bit linear PCM <-> 8-bit codes, 8 kHz.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace exphone::media {

std::uint8_t linear_to_ulaw(std::int16_t pcm);
std::int16_t ulaw_to_linear(std::uint8_t code);
std::uint8_t linear_to_alaw(std::int16_t pcm);
std::int16_t alaw_to_linear(std::uint8_t code);

enum class G711 { kUlaw, kAlaw };  // RTP payload types 0 (PCMU) and 8 (PCMA), RFC 3551
void g711_encode(G711 law, std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out);
void g711_decode(G711 law, std::span<const std::uint8_t> codes, std::vector<std::int16_t>& out);

}  // namespace exphone::media
