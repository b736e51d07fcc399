/*
** lalloc.c — pooled allocator for the Lua state (see lalloc.h).
*/
#include "lalloc.h"

#include <string.h>

#include "pool.h"

#define STEP 16
#define NCLASS 16                  /* 16, 32, ... 256 bytes */
#define SMALL (STEP * NCLASS)

static Pool pools[NCLASS] = {
  {NULL, 0, 8192}, {NULL, 0, 8192}, {NULL, 0, 8192}, {NULL, 0, 8192},
  {NULL, 0, 4096}, {NULL, 0, 4096}, {NULL, 0, 4096}, {NULL, 0, 4096},
  {NULL, 0, 1024}, {NULL, 0, 1024}, {NULL, 0, 1024}, {NULL, 0, 1024},
  {NULL, 0, 1024}, {NULL, 0, 1024}, {NULL, 0, 1024}, {NULL, 0, 1024},
};

static int cls(size_t n) { return (int)((n - 1) / STEP); }

static void *get(size_t n) {
  if (n > SMALL) return malloc(n);
  return pool_get(&pools[cls(n)], (size_t)(cls(n) + 1) * STEP);
}

static void put(void *p, size_t n) {
  if (n > SMALL) free(p);
  else pool_put(&pools[cls(n)], p);
}

void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  void *q;
  (void)ud;
  if (nsize == 0) {
    if (ptr != NULL) put(ptr, osize);
    return NULL;
  }
  if (ptr == NULL) return get(nsize);   /* osize then tells the object type */
  if (osize > SMALL && nsize > SMALL) return realloc(ptr, nsize);
  if (osize <= SMALL && nsize <= SMALL && cls(osize) == cls(nsize)) return ptr;
  if ((q = get(nsize)) == NULL) return NULL;   /* Lua keeps the old block */
  memcpy(q, ptr, osize < nsize ? osize : nsize);
  put(ptr, osize);
  return q;
}
