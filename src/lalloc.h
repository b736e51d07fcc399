/*
** lalloc.h — the Lua state's allocator: small blocks (every tensor result
** is a small userdata) come from free lists by 16-byte size class, larger
** ones from malloc.  Lua always tells the size of a block it frees, so no
** header is needed.
*/
#ifndef NNCALC_LALLOC_H
#define NNCALC_LALLOC_H

#include <stddef.h>

void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
