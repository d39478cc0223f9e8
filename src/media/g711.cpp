#include "media/g711.h"

namespace exphone::media {

// Segment encoding as in ITU-T G.711 (and the classic Sun reference formulation).
std::uint8_t linear_to_ulaw(std::int16_t pcm) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int sample = pcm;
  int sign = (sample >> 8) & 0x80;
  if (sign) sample = -sample;
  if (sample > kClip) sample = kClip;
  sample += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (sample & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  int mantissa = (sample >> (exponent + 3)) & 0x0f;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

std::int16_t ulaw_to_linear(std::uint8_t code) {
  code = static_cast<std::uint8_t>(~code);
  int sign = code & 0x80;
  int exponent = (code >> 4) & 0x07;
  int mantissa = code & 0x0f;
  int sample = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return static_cast<std::int16_t>(sign ? -sample : sample);
}

std::uint8_t linear_to_alaw(std::int16_t pcm) {
  int sample = pcm;
  int sign = sample >= 0 ? 0x80 : 0;  // A-law: sign bit set for positive values
  if (!sign) sample = -sample - 1;
  if (sample > 32767) sample = 32767;
  int exponent = 7;
  for (int mask = 0x4000; (sample & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  int mantissa = exponent == 0 ? (sample >> 4) & 0x0f : (sample >> (exponent + 3)) & 0x0f;
  return static_cast<std::uint8_t>((sign | (exponent << 4) | mantissa) ^ 0x55);
}

std::int16_t alaw_to_linear(std::uint8_t code) {
  code ^= 0x55;
  int sign = code & 0x80;
  int exponent = (code >> 4) & 0x07;
  int mantissa = code & 0x0f;
  int sample = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return static_cast<std::int16_t>(sign ? sample : -sample);
}

void g711_encode(G711 law, std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) {
  out.resize(pcm.size());
  for (std::size_t i = 0; i < pcm.size(); ++i)
    out[i] = law == G711::kUlaw ? linear_to_ulaw(pcm[i]) : linear_to_alaw(pcm[i]);
}

void g711_decode(G711 law, std::span<const std::uint8_t> codes, std::vector<std::int16_t>& out) {
  out.resize(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i)
    out[i] = law == G711::kUlaw ? ulaw_to_linear(codes[i]) : alaw_to_linear(codes[i]);
}

}  // namespace exphone::media
