/*
** embedded.c — lookup in the table of embedded Lua modules (embedded.h).
*/
#include "embedded.h"

#include <string.h>

const EmbeddedModule *embedded_find(const char *name) {
  int lo = 0, hi = embedded_count - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(name, embedded_modules[mid].name);
    if (c == 0) return &embedded_modules[mid];
    if (c < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return NULL;
}
