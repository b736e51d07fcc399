/*
** pool.h — free lists for the small objects every op allocates (tensor
** headers, small storages, graph nodes).  A homework-sized forward and
** backward pass makes dozens of them per step, and recycling them instead
** of going through malloc halves the cost of an op.  Each list keeps at
** most `max` objects, so an idle pool holds little memory.  Under
** AddressSanitizer the pools step aside, so that use-after-free and leaks
** are still seen.
*/
#ifndef NNCALC_POOL_H
#define NNCALC_POOL_H

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define NNCALC_NO_POOL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNCALC_NO_POOL 1
#endif
#endif

typedef struct Pool {
  void *head;     /* singly linked through the first word of each object */
  int count, max;
} Pool;

static inline void *pool_get(Pool *p, size_t size) {
#ifndef NNCALC_NO_POOL
  if (p->head != NULL) {
    void *x = p->head;
    p->head = *(void **)x;
    p->count--;
    return x;
  }
#else
  (void)p;
#endif
  return malloc(size);
}

static inline void pool_put(Pool *p, void *x) {
#ifndef NNCALC_NO_POOL
  if (p->count < p->max) {
    *(void **)x = p->head;
    p->head = x;
    p->count++;
    return;
  }
#else
  (void)p;
#endif
  free(x);
}

#endif
