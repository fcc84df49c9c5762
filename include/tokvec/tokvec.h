#pragma once
// tokvec's public API in one include: tokenizers (BPE and words), token corpora, skip-gram
// training and its state, exports, evaluation and the audit. docs/api.md is the guide.

#include "tokvec/audit.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "tokvec/eval.h"
#include "tokvec/export.h"
#include "tokvec/matrix.h"
#include "tokvec/run.h"
#include "tokvec/simd.h"
#include "tokvec/status.h"
#include "tokvec/tokenizer_kind.h"
#include "tokvec/trainer.h"
#include "tokvec/vocab.h"
