#include <cmath>
#include <cstring>

#include "agent.h"

namespace mqb::agent {

const json::Value* arg(const json::Value& req, const char* key) {
  const json::Value* v = req.get(key);
  return v && !v->is_null() ? v : nullptr;
}

std::string arg_string(const json::Value& req, const char* key, size_t max_len,
                       std::optional<std::string> fallback) {
  const json::Value* v = arg(req, key);
  if (!v) {
    if (fallback) return *fallback;
    throw BadArgument(std::string(key) + " is missing");
  }
  if (!v->is_string()) throw BadArgument(std::string(key) + " must be a string");
  if (v->str().size() > max_len)
    throw BadArgument(std::string(key) + " is longer than " + std::to_string(max_len) + " bytes");
  return v->str();
}

uint64_t arg_uint(const json::Value& req, const char* key, uint64_t min, uint64_t max,
                  std::optional<uint64_t> fallback) {
  const json::Value* v = arg(req, key);
  if (!v) {
    if (fallback) return *fallback;
    throw BadArgument(std::string(key) + " is missing");
  }
  if (!v->is_integer()) throw BadArgument(std::string(key) + " must be an integer");
  double n = v->number();
  if (n < static_cast<double>(min) || n > static_cast<double>(max))
    throw BadArgument(std::string(key) + " " + json::number_text(n) + " is out of range " +
                      std::to_string(min) + ".." + std::to_string(max));
  return static_cast<uint64_t>(n);
}

bool arg_bool(const json::Value& req, const char* key, bool fallback) {
  const json::Value* v = arg(req, key);
  if (!v) return fallback;
  if (!v->is_bool()) throw BadArgument(std::string(key) + " must be true or false");
  return v->boolean();
}

std::vector<std::string> arg_strings(const json::Value& req, const char* key, size_t max_items,
                                     size_t max_len) {
  const json::Value* v = arg(req, key);
  if (!v) throw BadArgument(std::string(key) + " is missing");
  std::string what = std::string(key) + " must be a list of at most " + std::to_string(max_items) +
                     " strings of at most " + std::to_string(max_len) + " bytes";
  if (!v->is_array() || v->items().size() > max_items) throw BadArgument(what);
  std::vector<std::string> out;
  for (const json::Value& x : v->items()) {
    if (!x.is_string() || x.str().size() > max_len) throw BadArgument(what);
    out.push_back(x.str());
  }
  return out;
}

std::vector<int> arg_ints(const json::Value& req, const char* key, size_t max_items, int min, int max) {
  const json::Value* v = arg(req, key);
  if (!v) return {};
  std::string what = std::string(key) + " must be a list of at most " + std::to_string(max_items) +
                     " integers in " + std::to_string(min) + ".." + std::to_string(max);
  if (!v->is_array() || v->items().size() > max_items) throw BadArgument(what);
  std::vector<int> out;
  for (const json::Value& x : v->items()) {
    if (!x.is_integer() || x.number() < min || x.number() > max) throw BadArgument(what);
    out.push_back(static_cast<int>(x.number()));
  }
  return out;
}

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = b(i) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& in) {
  if (in.size() % 4) throw BadArgument("data is not base64 (length not a multiple of 4)");
  std::string out;
  out.reserve(in.size() / 4 * 3);
  auto val = [](char c) -> int {
    const char* p = c ? std::strchr(kB64, c) : nullptr;
    return p ? static_cast<int>(p - kB64) : -1;
  };
  for (size_t i = 0; i < in.size(); i += 4) {
    int pad = (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=');
    if (pad && i + 4 != in.size()) throw BadArgument("data is not base64 (padding inside)");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
      int d = k >= 4 - pad ? 0 : val(in[i + k]);
      if (d < 0) throw BadArgument("data is not base64");
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 255);
    if (pad < 1) out += static_cast<char>(v & 255);
  }
  return out;
}

}  // namespace mqb::agent
