#include "cli_common.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "tokvec/status.h"

namespace tokvec::cli {

namespace {

/// One option of a command as the user may spell it.
struct KnownOption {
  std::string name;  ///< long name, without dashes
  std::string short_name;
  bool flag = false;  ///< takes no value
};

std::vector<KnownOption> known_options(const cxxopts::Options& options) {
  std::vector<KnownOption> out;
  for (const std::string& group : options.groups()) {
    for (const cxxopts::HelpOptionDetails& o : options.group_help(group).options) {
      for (const std::string& l : o.l) out.push_back({l, o.s, o.is_boolean});
      if (o.l.empty() && !o.s.empty()) out.push_back({o.s, o.s, o.is_boolean});
    }
  }
  return out;
}

/// The text between cxxopts' quotes in one of its messages ("Option 'x' does not exist").
std::string quoted(const std::string& message) {
  const size_t a = message.find(cxxopts::LQUOTE);
  if (a == std::string::npos) return "";
  const size_t from = a + cxxopts::LQUOTE.size();
  const size_t b = message.find(cxxopts::RQUOTE, from);
  return b == std::string::npos ? "" : message.substr(from, b - from);
}

/// How the user names an option: --long, or -s for a one-letter name.
std::string dashed(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

/// Names users bring from other commands of tokvec and from word2vec, fastText and
/// gensim, and the option that means the same here (used when this command has it).
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"vocab-size", "bpe-vocab-size"}, {"bpe-vocab-size", "vocab-size"}, {"vocab", "bpe-vocab-size"},
    {"vocab", "vocab-size"},          {"size", "dim"},                  {"vector-size", "dim"},
    {"dimension", "dim"},             {"dims", "dim"},                  {"embedding-dim", "dim"},
    {"iter", "epochs"},               {"iterations", "epochs"},         {"epoch", "epochs"},
    {"alpha", "lr"},                  {"learning-rate", "lr"},          {"eta", "lr"},
    {"neg", "negative"},              {"ws", "window"},                 {"thread", "threads"},
    {"workers", "threads"},           {"j", "threads"},                 {"mincount", "min-count"},
    {"min-freq", "min-frequency"},    {"model", "tokenizer"},           {"tokenizer", "model"},
    {"text", "input"},                {"train", "input"},               {"in", "input"},
    {"out", "output"},                {"topn", "k"},                    {"top", "k"},
    {"n", "k"},
};

/// "did you mean --x?" for an unknown option of this command, or "" when nothing is close.
std::string suggestion(const std::string& given, const std::vector<KnownOption>& known) {
  std::string key;
  for (char c : given) key += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](std::string_view name) {
    return std::any_of(known.begin(), known.end(), [&](const KnownOption& o) { return o.name == name; });
  };
  if (key != given && has(key)) return key;
  for (const auto& [from, to] : kAliases) {
    if (from == key && has(to)) return std::string(to);
  }
  std::vector<std::string> names;
  for (const KnownOption& o : known) {
    if (o.name != "help" && o.name.size() > 1) names.push_back(o.name);
  }
  if (std::string best = closest(key, names); !best.empty()) return best;
  // A unique option that starts with what was given (--bpe for --bpe-vocab-size).
  std::string prefixed;
  for (const KnownOption& o : known) {
    if (key.size() >= 3 && o.name.compare(0, key.size(), key) == 0) {
      if (!prefixed.empty()) return "";
      prefixed = o.name;
    }
  }
  return prefixed;
}

/// The long name of the option whose value was `text` in argv, or "" if none is found.
std::string option_of_value(int argc, char** argv, const std::string& text, const std::vector<KnownOption>& known) {
  auto long_name = [&](std::string_view name) -> std::string {
    for (const KnownOption& o : known) {
      if (o.name == name || o.short_name == name) return o.name;
    }
    return "";
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    std::string_view name = a.substr(a[1] == '-' ? 2 : 1);
    const size_t eq = name.find('=');
    if (eq != std::string_view::npos) {
      if (name.substr(eq + 1) == text) return long_name(name.substr(0, eq));
    } else if (i + 1 < argc && argv[i + 1] == text) {
      return long_name(name);
    }
  }
  return "";
}

/// What an option's value must be, found by asking cxxopts to parse trial values with the
/// command's own options (so the answer follows each option's declared type).
struct ValueKind {
  enum { text, flag, integer, number } kind = text;
  std::string min, max;  ///< integers: the range of the type
};

bool accepts(cxxopts::Options& options, const std::string& name, const std::string& value) {
  const std::string opt = "--" + name;
  const char* probe[] = {"tokvec", opt.c_str(), value.c_str()};
  try {
    options.parse(3, probe);
    return true;
  } catch (const cxxopts::exceptions::exception&) {
    return false;
  }
}

ValueKind value_kind(cxxopts::Options& options, const KnownOption& o) {
  ValueKind k;
  if (o.flag) {
    k.kind = ValueKind::flag;
    return k;
  }
  if (accepts(options, o.name, "tokvec-probe")) return k;
  if (accepts(options, o.name, "0.5")) {
    k.kind = ValueKind::number;
    return k;
  }
  k.kind = ValueKind::integer;
  k.min = accepts(options, o.name, "-1") ? (accepts(options, o.name, "-2147483649") ? "-9223372036854775808" : "-2147483648") : "0";
  if (k.min == "0") {
    k.max = !accepts(options, o.name, "4294967296") ? "4294967295" : "18446744073709551615";
  } else {
    k.max = k.min == "-2147483648" ? "2147483647" : "9223372036854775807";
  }
  return k;
}

bool whole_number(const std::string& s) {
  size_t i = s.size() > 1 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

/// "--dim expects an integer, got '50x'"
Error bad_value(const std::string& name, const ValueKind& k, const std::string& text) {
  std::string what;
  switch (k.kind) {
    case ValueKind::flag: return usage_error(dashed(name) + " takes no value, got '" + text + "' (see --help)");
    case ValueKind::number: what = "a number"; break;
    case ValueKind::integer:
      what = whole_number(text) ? "an integer from " + k.min + " to " + k.max : "an integer";
      break;
    case ValueKind::text: what = "a value"; break;
  }
  return usage_error(dashed(name) + " expects " + what + ", got '" + text + "' (see --help)");
}

/// A number option's value must be a number and nothing else: cxxopts reads doubles with a
/// stream, which stops at the first bad character (`--lr 0.5x` would be 0.5).
bool strict_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

std::string closest(std::string_view given, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(given, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best_d <= std::clamp<size_t>(given.size() / 3, 1, 3) ? best : std::string();
}

std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv) {
  options.add_options()("h,help", "Show this help");
  const std::vector<KnownOption> known = known_options(options);
  auto find = [&](const std::string& name) -> const KnownOption* {
    for (const KnownOption& o : known) {
      if (o.name == name) return &o;
    }
    return nullptr;
  };
  try {
    cxxopts::ParseResult result = options.parse(argc, argv);
    if (result.count("help") > 0) {
      std::fputs(options.help().c_str(), stdout);
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw usage_error("unexpected argument '" + result.unmatched().front() + "' (see --help)");
    }
    for (const cxxopts::KeyValue& kv : result.arguments()) {
      const KnownOption* o = find(kv.key());
      if (o == nullptr || o->flag) continue;
      const ValueKind k = value_kind(options, *o);
      if (k.kind == ValueKind::number && !strict_number(kv.value())) throw bad_value(o->name, k, kv.value());
    }
    return result;
  } catch (const cxxopts::exceptions::no_such_option& e) {
    const std::string name = quoted(e.what());
    const std::string hint = suggestion(name, known);
    throw usage_error("unknown option " + dashed(name) + (hint.empty() ? "" : "; did you mean " + dashed(hint) + "?") + " (see --help)");
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    const std::string text = quoted(e.what());
    const std::string name = option_of_value(argc, argv, text, known);
    const KnownOption* o = find(name);
    if (o == nullptr) throw usage_error("cannot read the value '" + text + "' (see --help)");
    throw bad_value(o->name, value_kind(options, *o), text);
  } catch (const cxxopts::exceptions::missing_argument& e) {
    throw usage_error(dashed(quoted(e.what())) + " needs a value (see --help)");
  } catch (const cxxopts::exceptions::exception& e) {
    throw usage_error(std::string(e.what()) + " (see --help)");
  }
}

std::string flag_name(std::string_view field) {
  std::string flag = "--" + std::string(field);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

void refuse_given(const cxxopts::ParseResult& result, std::initializer_list<const char*> options, const std::string& before,
                  const std::string& after) {
  for (const char* option : options) {
    if (result.count(option) > 0) throw usage_error(before + "--" + option + after);
  }
}

void require(const cxxopts::ParseResult& result, const std::string& option) {
  if (result.count(option) == 0) throw usage_error("--" + option + " is required (see --help)");
}

}  // namespace tokvec::cli
