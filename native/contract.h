// The byte layouts the addon hands to JS, described field by field from the structs
// themselves, so the addon can export them (contract in addon.cc) and the TypeScript side
// reads offsets from there instead of keeping its own copy (checked at load, src/kernel/addon.ts).
#pragma once
#include <cstddef>
#include <type_traits>

struct Field {
  const char* name;
  size_t offset;
  size_t size;
  bool isSigned;
};

// One exported field of struct T; a name that is not a member of T does not compile.
#define DELAYTOP_FIELD(T, f) \
  Field { #f, offsetof(T, f), sizeof(T::f), std::is_signed<decltype(T::f)>::value }
