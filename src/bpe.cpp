// STUB: to be replaced by the BPE implementation.
#include "tokvec/bpe.h"

#include "tokvec/status.h"

namespace tokvec {

struct BpeModel::Impl {};

void BpeTrainConfig::validate() const { throw internal_error("BPE not implemented yet"); }
BpeModel BpeModel::load(const std::string&) { throw internal_error("BPE not implemented yet"); }
void BpeModel::save(const std::string&) const { throw internal_error("BPE not implemented yet"); }
uint32_t BpeModel::vocab_size() const noexcept { return 0; }
uint64_t BpeModel::checksum() const noexcept { return 0; }
std::string_view BpeModel::piece(uint32_t) const { throw internal_error("BPE not implemented yet"); }
void BpeModel::encode_line(std::string_view, std::vector<uint32_t>&) const { throw internal_error("BPE not implemented yet"); }
std::vector<uint32_t> BpeModel::encode_word(std::string_view) const { throw internal_error("BPE not implemented yet"); }
std::string BpeModel::decode(std::span<const uint32_t>) const { throw internal_error("BPE not implemented yet"); }
BpeModel train_bpe(const BpeTrainConfig&) { throw internal_error("BPE not implemented yet"); }
CorpusData encode_file(const BpeModel&, const std::string&, int, bool) { throw internal_error("BPE not implemented yet"); }

}  // namespace tokvec
