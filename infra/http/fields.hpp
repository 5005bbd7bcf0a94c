#pragma once

// The parts of an answer that used to cost a heap allocation each: its header fields and its
// content type. Both keep their text inside the answer up to a size that covers what
// keyledger sends (a gateway check's four X-Keyledger-* fields, a page's security headers),
// and fall back to the heap only beyond it. Free of Beast, like server.hpp.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keyledger::infra {

/// A short text held inline (up to `inline_capacity` characters), on the heap only when longer:
/// a content type ("application/json" is one character past std::string's small buffer).
class short_text {
 public:
  static constexpr std::size_t inline_capacity = 47;

  short_text() noexcept = default;
  short_text(const short_text&) = default;
  short_text& operator=(const short_text&) = default;
  /// A move leaves the source empty: its size would otherwise describe text it no longer holds
  /// (a moved-from heap_ is empty, and view() would read inline_ past its end).
  short_text(short_text&& o) noexcept
      : inline_(o.inline_), size_(o.size_), heap_(std::move(o.heap_)) {
    o.clear();
  }
  short_text& operator=(short_text&& o) noexcept {
    if (this != &o) {
      inline_ = o.inline_;
      size_ = o.size_;
      heap_ = std::move(o.heap_);
      o.clear();
    }
    return *this;
  }
  short_text(std::string_view text) { assign(text); }  // NOLINT(google-explicit-constructor)
  short_text(const char* text) : short_text(std::string_view(text)) {}         // NOLINT
  short_text(const std::string& text) : short_text(std::string_view(text)) {}  // NOLINT

  short_text& operator=(std::string_view text) {
    assign(text);
    return *this;
  }
  short_text& operator=(const char* text) { return *this = std::string_view(text); }
  short_text& operator=(const std::string& text) { return *this = std::string_view(text); }

  void assign(std::string_view text);
  void clear() noexcept;

  std::string_view view() const noexcept {
    return heap_.empty() ? std::string_view(inline_.data(), size_) : std::string_view(heap_);
  }
  operator std::string_view() const noexcept { return view(); }  // NOLINT
  std::string str() const { return std::string(view()); }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  friend bool operator==(const short_text& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator==(const short_text& a, const char* b) noexcept {
    return a.view() == std::string_view(b);
  }
  friend bool operator==(const short_text& a, const short_text& b) noexcept {
    return a.view() == b.view();
  }
  friend std::ostream& operator<<(std::ostream& out, const short_text& t);

 private:
  std::array<char, inline_capacity> inline_{};
  std::size_t size_ = 0;
  std::string heap_;  ///< the text when longer than inline_capacity, else empty
};

/// An answer's header fields, in order: names and values back to back in one buffer (inline up
/// to `inline_bytes` of text and `inline_fields` fields, the heap beyond), read as pairs of
/// string_views. Adding a field copies its name and value; nothing here is validated (the
/// server refuses unsafe fields when it writes them).
class header_list {
 public:
  static constexpr std::size_t inline_bytes = 320;
  static constexpr std::size_t inline_fields = 12;

  using value_type = std::pair<std::string_view, std::string_view>;

  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = header_list::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    using pointer = void;

    iterator() = default;
    iterator(const header_list* list, std::size_t index) : list_(list), index_(index) {}
    value_type operator*() const { return (*list_)[index_]; }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    iterator operator++(int) {
      auto before = *this;
      ++index_;
      return before;
    }
    iterator& operator--() {
      --index_;
      return *this;
    }
    iterator operator--(int) {
      auto before = *this;
      --index_;
      return before;
    }
    iterator& operator+=(difference_type n) {
      index_ += n;
      return *this;
    }
    iterator& operator-=(difference_type n) {
      index_ -= n;
      return *this;
    }
    friend iterator operator+(iterator it, difference_type n) { return it += n; }
    friend iterator operator+(difference_type n, iterator it) { return it += n; }
    friend iterator operator-(iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(const iterator& a, const iterator& b) {
      return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
    }
    value_type operator[](difference_type n) const { return *(*this + n); }
    friend bool operator==(const iterator& a, const iterator& b) { return a.index_ == b.index_; }
    friend auto operator<=>(const iterator& a, const iterator& b) { return a.index_ <=> b.index_; }

   private:
    const header_list* list_ = nullptr;
    std::size_t index_ = 0;
  };

  header_list() = default;
  header_list(const header_list&) = default;
  header_list& operator=(const header_list&) = default;
  /// A move leaves the source empty, as short_text's does (its counts would otherwise index
  /// inline arrays for fields that moved to the heap).
  header_list(header_list&& o) noexcept
      : inline_text_(o.inline_text_),
        text_size_(o.text_size_),
        heap_text_(std::move(o.heap_text_)),
        inline_fields_(o.inline_fields_),
        count_(o.count_),
        heap_fields_(std::move(o.heap_fields_)) {
    o.clear();
  }
  header_list& operator=(header_list&& o) noexcept {
    if (this != &o) {
      inline_text_ = o.inline_text_;
      text_size_ = o.text_size_;
      heap_text_ = std::move(o.heap_text_);
      inline_fields_ = o.inline_fields_;
      count_ = o.count_;
      heap_fields_ = std::move(o.heap_fields_);
      o.clear();
    }
    return *this;
  }
  header_list(std::initializer_list<value_type> fields) {
    for (const auto& f : fields) push_back(f);
  }
  header_list& operator=(std::initializer_list<value_type> fields) {
    clear();
    for (const auto& f : fields) push_back(f);
    return *this;
  }

  /// Appends a field (the name as given: HTTP field names are case-insensitive on the wire).
  void emplace_back(std::string_view name, std::string_view value);
  void push_back(const value_type& field) { emplace_back(field.first, field.second); }
  /// Appends a field whose value is `parts` joined by `separator` (no text built on the heap).
  template <class Range>
  void emplace_back_joined(std::string_view name, const Range& parts, char separator) {
    emplace_back(name, {});
    bool first = true;
    for (const auto& part : parts) {
      if (!first) extend_last_value(std::string_view(&separator, 1));
      extend_last_value(std::string_view(part));
      first = false;
    }
  }

  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  value_type operator[](std::size_t i) const noexcept;
  value_type front() const noexcept { return (*this)[0]; }
  value_type back() const noexcept { return (*this)[count_ - 1]; }
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, count_}; }

  /// The first field with this name (case-insensitive), or "" if absent.
  std::string_view find(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept;
  void clear() noexcept;

 private:
  struct field {
    std::uint32_t offset;  ///< of the name in the text; the value follows it
    std::uint32_t name_size;
    std::uint32_t value_size;
  };
  /// Appends to the value of the last field.
  void extend_last_value(std::string_view more);
  const char* text() const noexcept {
    return heap_text_.empty() ? inline_text_.data() : heap_text_.data();
  }
  const field& at(std::size_t i) const noexcept {
    return heap_fields_.empty() ? inline_fields_[i] : heap_fields_[i];
  }
  field& at(std::size_t i) noexcept {
    return heap_fields_.empty() ? inline_fields_[i] : heap_fields_[i];
  }
  /// Appends raw text (the caller records which field it belongs to).
  void append_text(std::string_view more);

  std::array<char, inline_bytes> inline_text_{};
  std::size_t text_size_ = 0;
  std::string heap_text_;  ///< all of the text once it outgrew inline_text_
  std::array<field, inline_fields> inline_fields_{};
  std::size_t count_ = 0;
  std::vector<field> heap_fields_;  ///< all of the fields once they outgrew inline_fields_
};

}  // namespace keyledger::infra
