#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mqb::json {

bool Value::is_integer() const {
  return type_ == Type::number && std::isfinite(n_) && std::floor(n_) == n_;
}

const Value* Value::get(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

Value& Value::set(std::string key, Value v) {
  for (auto& m : members_)
    if (m.first == key) {
      m.second = std::move(v);
      return *this;
    }
  members_.emplace_back(std::move(key), std::move(v));
  return *this;
}

Value& Value::push(Value v) {
  items_.push_back(std::move(v));
  return *this;
}

// ---- UTF-8 ------------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at s[i], or 0. With `surrogates`, the 3-byte forms of
// U+D800..U+DFFF count as well formed (the reader's own lone-surrogate encoding).
static size_t utf8_seq(std::string_view s, size_t i, bool surrogates) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;                  // overlong
    if (c == 0xED && c1 >= 0xA0 && !surrogates) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq(s, i, false);
    if (!n) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq(s, i, false);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i++;
    }
  }
  return out;
}

size_t utf16_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;
    n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

static void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string utf16_prefix(std::string_view s, size_t n) {
  std::string out;
  size_t units = 0;
  for (size_t i = 0; i < s.size() && units < n;) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    len = std::min(len, s.size() - i);
    if (len == 4 && units + 2 > n) {
      // Half a pair: JavaScript keeps the high surrogate.
      uint32_t cp =
          ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
      put_utf8(out, 0xD800 + ((cp - 0x10000) >> 10));
      return out;
    }
    out.append(s.substr(i, len));
    units += len == 4 ? 2 : 1;
    i += len;
  }
  return out;
}

// ---- reader -----------------------------------------------------------------------------------

namespace {

class Reader {
 public:
  explicit Reader(std::string_view t) : t_(t) {}

  Value document() {
    Value v = value(0);
    space();
    if (i_ != t_.size()) fail("unexpected text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw ParseError(std::string(what) + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) i_++;
  }
  bool eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) {
      i_++;
      return true;
    }
    return false;
  }
  void literal(const char* word) {
    size_t n = std::strlen(word);
    if (t_.substr(i_, n) != word) fail("invalid literal");
    i_ += n;
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nested too deeply");
    space();
    if (i_ >= t_.size()) fail("unexpected end");
    char c = t_[i_];
    switch (c) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return Value(string());
      case 't':
        literal("true");
        return Value(true);
      case 'f':
        literal("false");
        return Value(false);
      case 'n':
        literal("null");
        return Value();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return Value(number());
        fail("unexpected character");
    }
  }

  Value object(int depth) {
    i_++;
    Value o = Value::object();
    space();
    if (eat('}')) return o;
    for (;;) {
      space();
      if (i_ >= t_.size() || t_[i_] != '"') fail("expected a key");
      std::string k = string();
      space();
      if (!eat(':')) fail("expected ':'");
      o.set(std::move(k), value(depth + 1));
      space();
      if (eat('}')) return o;
      if (!eat(',')) fail("expected ',' or '}'");
    }
  }

  Value array(int depth) {
    i_++;
    Value a = Value::array();
    space();
    if (eat(']')) return a;
    for (;;) {
      a.push(value(depth + 1));
      space();
      if (eat(']')) return a;
      if (!eat(',')) fail("expected ',' or ']'");
    }
  }

  bool digit() const { return i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9'; }

  double number() {
    size_t start = i_;
    eat('-');
    if (eat('0')) {
      if (digit()) fail("leading zero");
    } else {
      if (!digit()) fail("expected a digit");
      while (digit()) i_++;
    }
    if (eat('.')) {
      if (!digit()) fail("expected a digit");
      while (digit()) i_++;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      i_++;
      if (!eat('+')) eat('-');
      if (!digit()) fail("expected a digit");
      while (digit()) i_++;
    }
    // strtod needs a terminated copy; numbers are short unless hostile, and the frame bounds them.
    std::string text(t_.substr(start, i_ - start));
    return std::strtod(text.c_str(), nullptr);
  }

  uint32_t hex4() {
    if (i_ + 4 > t_.size()) fail("short \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
      char c = t_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        fail("bad \\u escape");
    }
    return v;
  }

  std::string string() {
    i_++;  // the opening quote
    std::string out;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        i_++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c == '\\') {
        i_++;
        if (i_ >= t_.size()) fail("unterminated string");
        char e = t_[i_++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            uint32_t cp = hex4();
            if (cp >= 0xD800 && cp <= 0xDBFF && t_.substr(i_, 2) == "\\u") {
              size_t save = i_;
              i_ += 2;
              uint32_t lo = hex4();
              if (lo >= 0xDC00 && lo <= 0xDFFF)
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              else
                i_ = save;  // a lone high surrogate followed by another escape
            }
            put_utf8(out, cp);
            break;
          }
          default:
            fail("bad escape");
        }
        continue;
      }
      size_t n = utf8_seq(t_, i_, false);
      if (!n) fail("invalid UTF-8");
      out.append(t_.substr(i_, n));
      i_ += n;
    }
  }

  std::string_view t_;
  size_t i_ = 0;
};

}  // namespace

Value parse(std::string_view text) {
  return Reader(text).document();
}

// ---- writer -----------------------------------------------------------------------------------

// ECMAScript Number::toString: the shortest digits that read back as the same double, laid out
// in plain notation for exponents -6..20 and as d.ddde+N otherwise.
std::string number_text(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == 0) return "0";
  std::string sign = v < 0 ? "-" : "";
  double a = std::fabs(v);
  char buf[40];
  for (int p = 1; p <= 17; p++) {
    std::snprintf(buf, sizeof(buf), "%.*e", p - 1, a);
    if (std::strtod(buf, nullptr) == a) break;
  }
  // buf: d[.ddd]e[+-]XX
  std::string digits;
  const char* e = std::strchr(buf, 'e');
  for (const char* q = buf; q < e; q++)
    if (*q != '.') digits += *q;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int n = std::atoi(e + 1) + 1;  // the decimal point sits after n digits
  int k = static_cast<int>(digits.size());
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(-n, '0') + digits;
  } else {
    int x = n - 1;
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += x >= 0 ? "+" : "-";
    out += std::to_string(x >= 0 ? x : -x);
  }
  return sign + out;
}

std::string quote(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c == 0xED && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) {
      // A lone surrogate (the reader's 3-byte form): JSON.stringify writes it as an escape.
      uint32_t cp = 0xD000 | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
      out += "\\u";
      for (int sh = 12; sh >= 0; sh -= 4) out += hex[(cp >> sh) & 15];
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

static void write_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::null:
      out += "null";
      return;
    case Type::boolean:
      out += v.boolean() ? "true" : "false";
      return;
    case Type::number:
      out += number_text(v.number());
      return;
    case Type::string:
      out += quote(v.str());
      return;
    case Type::array: {
      out += '[';
      bool first = true;
      for (const Value& x : v.items()) {
        if (!first) out += ',';
        first = false;
        write_to(out, x);
      }
      out += ']';
      return;
    }
    case Type::object: {
      out += '{';
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out += ',';
        first = false;
        out += quote(m.first);
        out += ':';
        write_to(out, m.second);
      }
      out += '}';
      return;
    }
  }
}

std::string write(const Value& v) {
  std::string out;
  write_to(out, v);
  return out;
}

}  // namespace mqb::json
