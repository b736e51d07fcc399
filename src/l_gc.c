/*
** l_gc.c — pacing Lua's collector for tensor userdata.
**
** Every tensor is a small userdata with a __gc (it releases the C tensor),
** and a homework step makes dozens of them.  Left to itself, Lua 5.4's
** generational collector handles them badly after its first major
** collection: a major collection (collectgarbage(), or the heap doubling
** because a session holds many live tensors or ran summary/backward)
** cannot free garbage that still awaits its finalizer, so it turns all of
** it old (lgc.c, atomic2gen -> sweep2old on 'tobefnz'), sees that too little
** was freed and calls the collection "bad".  From then on it collects only
** when the heap has doubled (setpause), so each collection frees
** megabytes of tensors at once: past the caches and past the free lists'
** caps (pool.h), which made a 4-element x + y 2x and the homework MLP step
** 2-6x slower than in a fresh process.
**
** So the bindings run a minor collection themselves every MINOR_EVERY new
** tensors: the young generation stays a bounded size whatever the heap
** holds, the heap never doubles on tensor garbage, and a minor collection
** costs what is young, not what is live.  In the "bad" state the same step
** is Lua's full collection that returns to generational mode once the live
** set stops growing by 1/8 per step, so while a script builds a big
** structure such full steps cost at most ~8 object visits per new tensor.
** A user's collectgarbage("incremental") is respected: the step is then
** one more incremental step.
*/
#include <limits.h>

#include "lua_api.h"

/* About what Lua's own 20% rule gives in a fresh process (a minor
** collection per ~120 steps of the 2-3-2-1 MLP, ~25 tensors each), and
** few enough that their C headers, nodes and storages stay in cache. */
#define MINOR_EVERY 2048

/* New storage counts as debt too: without being told about it, the
** collector would let a loop of large temporaries (randn(1000, 1000) a few
** hundred times) hold gigabytes until the Lua heap itself grew enough to
** start a collection.  Temporaries that outlive two minor collections turn
** old and wait for a major one, so a full collection runs whenever live
** storage has grown past twice what the last one left (Lua's own pause
** rule) plus some slack.  Reporting in quarter-megabyte steps leaves
** small-tensor work untouched. */
#define GC_REPORT_BYTES ((int64_t)256 * 1024)
#define GC_FULL_SLACK ((int64_t)64 * 1024 * 1024)

static int64_t unreported = 0, live_after_full = 0;
static int new_tensors = 0;

void lt_gc_pace(lua_State *L) {
  int64_t kb;
  unreported += tensor_take_allocated();
  if (new_tensors < MINOR_EVERY) new_tensors++;   /* (stays bounded while stopped) */
  if (new_tensors < MINOR_EVERY && unreported < GC_REPORT_BYTES) return;
  /* LUA_GCSTEP runs even when collection is stopped: respect a stop */
  if (!lua_gc(L, LUA_GCISRUNNING)) return;
  if (unreported >= GC_REPORT_BYTES) {
    kb = unreported >> 10;
    unreported = 0;
    if (storage_live_bytes() > 2 * live_after_full + GC_FULL_SLACK) {
      lua_gc(L, LUA_GCCOLLECT);
      live_after_full = storage_live_bytes();
      return;
    }
    lua_gc(L, LUA_GCSTEP, kb > INT_MAX ? INT_MAX : (int)kb);
  }
  if (new_tensors >= MINOR_EVERY) {
    new_tensors = 0;
    lua_gc(L, LUA_GCSTEP, 0);   /* a minor collection in generational mode */
  }
}

/* Generational: a graph's tensors and nodes die young, and minor
** collections return them in small batches that the free lists absorb. */
void lt_gc_start(lua_State *L) {
  lua_gc(L, LUA_GCGEN, 0, 0);
}
