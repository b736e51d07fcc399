/*
** optable.h — tables indexed by an enum that cannot drift from it.
**
**     OP_TABLE_BEGIN(names);
**     static const char *const names[] = {
**       OP_ROW(OP_NEG) = "neg",
**       OP_ROW(OP_ABS) = "abs",
**     };
**     OP_TABLE_END(names, OP_UNARY_COUNT);
**
** Rows are designated initializers, so nothing depends on the order of the
** enum.  Each OP_ROW bumps __COUNTER__ (GCC, Clang and MSVC have it), so
** OP_TABLE_END sees both the table's length and its number of rows: an op
** added to the enum (anywhere in it, not only before the count) without its
** row is a compile error.  A row given twice is -Woverride-init's warning.
*/
#ifndef NNCALC_OPTABLE_H
#define NNCALC_OPTABLE_H

#include <assert.h>

#define OP_ROW(id) [(id) + 0 * __COUNTER__]
#define OP_TABLE_BEGIN(t) enum { t##_first_row = __COUNTER__ }
#define OP_TABLE_END(t, count)                                                  \
  static_assert(sizeof(t) / sizeof((t)[0]) == (count) &&                      \
                __COUNTER__ - t##_first_row - 1 == (count),                   \
                #t ": every op of the enum needs exactly one row")

#endif
