#pragma once
// The objects that travel through a oneTBB parallel_pipeline, owned outside it.
//
// Why: oneTBB keeps a token of a non-trivial type (a shared_ptr, a vector) in storage of its
// own, and when a filter throws (an input error in the middle of a file) the tokens still in
// flight are never destroyed: their memory leaks. A pipeline over plain pointers into a
// PipelineSlots<T> holds nothing that needs destroying, and every object is freed with the
// PipelineSlots, however the pipeline ended.

#include <memory>
#include <mutex>
#include <vector>

namespace tokvec {

template <typename T>
class PipelineSlots {
 public:
  /// An object no stage is using: one given back earlier (with its buffers' capacity, which
  /// the caller resets as it needs), else a new one. At most as many objects are ever made
  /// as the pipeline has tokens in flight.
  T* take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      T* object = free_.back();
      free_.pop_back();
      return object;
    }
    owned_.push_back(std::make_unique<T>());
    return owned_.back().get();
  }

  /// Called by the last stage once it is done with `object`.
  void give_back(T* object) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(object);
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> owned_;
  std::vector<T*> free_;
};

}  // namespace tokvec
