#include "infra/http/fields.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <ostream>
#include <stdexcept>

#include "domain/encoding.hpp"

namespace keyledger::infra {

void short_text::assign(std::string_view text) {
  if (text.empty()) {
    clear();
    heap_.shrink_to_fit();
    return;
  }
  if (text.size() <= inline_capacity) {
    // `text` may be a view of this very object: copy before the heap copy goes.
    std::memmove(inline_.data(), text.data(), text.size());
    size_ = text.size();
    heap_.clear();
    heap_.shrink_to_fit();
    return;
  }
  heap_.assign(text.data(), text.size());
  size_ = heap_.size();
}

void short_text::clear() noexcept {
  size_ = 0;
  heap_.clear();
}

std::ostream& operator<<(std::ostream& out, const short_text& t) { return out << t.view(); }

void header_list::append_text(std::string_view more) {
  // An empty view may have a null data(), which memmove must not get even for 0 bytes.
  if (more.empty()) return;
  constexpr std::size_t limit = std::numeric_limits<std::uint32_t>::max();
  if (more.size() > limit || text_size_ > limit - more.size()) {
    throw std::length_error("header_list: fields too large");
  }
  if (heap_text_.empty() && text_size_ + more.size() <= inline_bytes) {
    // `more` may be a view of this list's own text: memmove, and nothing reallocates.
    std::memmove(inline_text_.data() + text_size_, more.data(), more.size());
  } else {
    // Built aside first: `more` may point into the buffer being replaced.
    std::string grown;
    grown.reserve(std::max(2 * (text_size_ + more.size()), inline_bytes * 2));
    grown.append(text(), text_size_);
    grown.append(more);
    heap_text_ = std::move(grown);
  }
  text_size_ += more.size();
}

void header_list::emplace_back(std::string_view name, std::string_view value) {
  // Both copied before the field is recorded, so that a view of this list's own text (a name or
  // value read from it) is still valid while it is copied.
  const auto offset = static_cast<std::uint32_t>(text_size_);
  const std::less_equal<const char*> at_or_before;
  if (at_or_before(text(), value.data()) &&
      std::less<const char*>()(value.data(), text() + text_size_)) {
    // The value points into our text, which the name's copy may move: copy the value aside.
    const std::string saved(value);
    append_text(name);
    append_text(saved);
  } else {
    append_text(name);
    append_text(value);
  }
  const field f{offset, static_cast<std::uint32_t>(name.size()),
                static_cast<std::uint32_t>(value.size())};
  if (heap_fields_.empty() && count_ < inline_fields) {
    inline_fields_[count_] = f;
  } else {
    if (heap_fields_.empty()) heap_fields_.assign(inline_fields_.begin(), inline_fields_.end());
    heap_fields_.push_back(f);
  }
  ++count_;
}

void header_list::extend_last_value(std::string_view more) {
  // Only the last field's value ends where the text ends, so it can grow in place.
  if (count_ == 0) return;
  append_text(more);
  at(count_ - 1).value_size += static_cast<std::uint32_t>(more.size());
}

header_list::value_type header_list::operator[](std::size_t i) const noexcept {
  const field& f = at(i);
  const char* base = text() + f.offset;
  return {std::string_view(base, f.name_size), std::string_view(base + f.name_size, f.value_size)};
}

std::string_view header_list::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    const auto [n, v] = (*this)[i];
    if (domain::iequals_ascii(n, name)) return v;
  }
  return {};
}

bool header_list::contains(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (domain::iequals_ascii((*this)[i].first, name)) return true;
  }
  return false;
}

void header_list::clear() noexcept {
  text_size_ = 0;
  count_ = 0;
  heap_text_.clear();
  heap_fields_.clear();
}

}  // namespace keyledger::infra
