#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::domain {

// Character rules shared by the text the domain stores in events (key names, emails, display
// names): one definition, so every field refuses the same invisible or malformed characters.

/// Decodes one code point at `pos` (strict RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF) and advances `pos`; nullopt on any malformed sequence. Precondition:
/// pos < s.size().
std::optional<char32_t> decode_utf8(std::string_view s, std::size_t& pos) noexcept;

/// C0 controls, DEL and C1 controls.
bool is_control(char32_t cp) noexcept;

/// Invisible format characters that make two strings look alike or reorder text on screen:
/// U+200B-U+200F, U+2028-U+202E, U+2060-U+2064, U+FEFF.
bool is_invisible_format(char32_t cp) noexcept;

/// Permanently unassigned code points (U+FDD0-U+FDEF and U+xxFFFE/U+xxFFFF): never printable.
bool is_noncharacter(char32_t cp) noexcept;

/// ' ', '\t', '\n', '\r', '\v', '\f'.
bool is_ascii_space(char c) noexcept;

/// `s` without ASCII whitespace at either end.
std::string_view trim_ascii(std::string_view s) noexcept;

/// Whether a client-chosen name (a field, a query parameter) may be repeated in an error
/// message: 1-32 characters of [A-Za-z0-9_.-]. Never a key (keys are longer) or markup.
bool is_echoable_name(std::string_view name) noexcept;

/// The name quoted ('name') when is_echoable_name, else "(name not shown)".
std::string echoable_name(std::string_view name);

/// `s` without spaces and tabs at either end (HTTP's optional whitespace, RFC 9110 5.6.3).
std::string_view trim_ows(std::string_view s) noexcept;

/// The parts with `separator` between them ("a b c" for a space-delimited scope list).
std::string join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace keyledger::domain
