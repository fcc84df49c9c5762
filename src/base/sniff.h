// What a file given to the wrong reader is, so that the error says it in the user's words
// ("x.vec looks like a word2vec text file, not a tokvec training state") instead of the
// reader's ("wrong magic").
#pragma once

#include <string>
#include <string_view>

namespace tokvec {

/// What `path` looks like, as a phrase: "a word2vec text file", "a tokvec token corpus
/// (.tkc)", "plain text", "an xz-compressed file", "a tokvec run folder", ... Reads at most
/// the first 64 KiB of a regular file (never a pipe or a device); "" when it cannot tell
/// (unreadable) — callers then keep their own message.
std::string sniff_file_kind(const std::string& path);

/// What a tokvec binary file of this magic is, as a phrase ("a tokvec token corpus (.tkc)").
std::string tokvec_file_kind(std::string_view magic);

/// The corrupt error of a tokvec reader given a file of another kind: "looks like KIND, not
/// EXPECTED" when the sniffer recognises the file, else "not EXPECTED DETAIL".
[[noreturn]] void throw_wrong_kind(const std::string& path, const std::string& where, const std::string& expected,
                                   const std::string& detail = "");

}  // namespace tokvec
