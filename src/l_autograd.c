/*
** l_autograd.c — autograd from Lua: marking leaves, names, the backward
** pass and what it did (for traces), no_grad, detect_anomaly, and the
** graph as plain tables for lua/autograd.lua to print and draw.
*/
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "lua_api.h"

/* x:requires_grad([on]) — marks a leaf; returns x. */
static int t_requires_grad(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  if (ag_set_requires_grad(t, on) != NN_OK) return lt_error(L, "requires_grad");
  lua_settop(L, 1);
  return 1;
}

/* x:name("W1") labels x (returns x); x:name() gives the label or nil. */
static int t_name(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    if (t->name) lua_pushstring(L, t->name);
    else lua_pushnil(L);
    return 1;
  }
  if (ag_set_name(t, luaL_checkstring(L, 2)) != NN_OK) return lt_error(L, "name");
  lua_settop(L, 1);
  return 1;
}

static int t_retain_grad(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (!t->requires_grad)
    return luaL_error(L, "retain_grad: this tensor does not require grad");
  t->retain_grad = 1;
  lua_settop(L, 1);
  return 1;
}

/* A new leaf sharing x's values, outside any graph. */
static int t_detach(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  return lt_push(L, tensor_view(t, t->ndim, t->size), "detach");
}

static int t_zero_grad(lua_State *L) {
  ag_zero_grad(lt_check(L, 1));
  lua_settop(L, 1);
  return 1;
}

static int t_is_leaf(lua_State *L) {
  lua_pushboolean(L, lt_check(L, 1)->node == NULL);
  return 1;
}

/* nncalc._kept_grad(t): the gradient the last backward gave the computed
** tensor t (kept for small graphs, autograd.h), or nil. */
static int l_kept_grad(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (t->node == NULL || t->node->kept_grad == NULL) return 0;
  return lt_push(L, tensor_retain(t->node->kept_grad), "graph");
}

/* "relu#3" for a computed tensor, nil for a leaf. */
static int t_grad_fn(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (t->node == NULL) return 0;
  lua_pushfstring(L, "%s#%I", t->node->op->name, (lua_Integer)t->node->id);
  return 1;
}

/* ======================================================================
** Backward
** ====================================================================== */

static void push_or_false(lua_State *L, Tensor *t) {
  if (t == NULL) lua_pushboolean(L, 0);
  else lt_push(L, tensor_retain(t), "backward");
}

/* Describes one node for Lua: op, id, the output and inputs, rules. */
static void push_node(lua_State *L, Node *n) {
  int i;
  lua_createtable(L, 0, 8);
  lua_pushstring(L, n->op->name);
  lua_setfield(L, -2, "op");
  lua_pushinteger(L, (lua_Integer)n->id);
  lua_setfield(L, -2, "id");
  push_or_false(L, n->out);
  lua_setfield(L, -2, "out");
  lua_createtable(L, n->nin, 0);
  for (i = 0; i < n->nin; i++) {
    lt_push(L, tensor_retain(n->in[i]), "backward");
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "inputs");
  lua_createtable(L, 3, 0);
  for (i = 0; i < 3; i++) {
    if (n->op->rule[i]) lua_pushstring(L, n->op->rule[i]);
    else lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "rules");
  if (n->op->number) {
    lua_pushnumber(L, n->op->number(n));
    lua_setfield(L, -2, "scalar");
  }
  if (n->site) {
    lua_pushstring(L, n->site);
    lua_setfield(L, -2, "site");
  }
}

static void push_step(lua_State *L, const AgStep *s, int locals) {
  Node *n = s->node;
  int i;
  push_node(L, n);
  push_or_false(L, s->gout);
  lua_setfield(L, -2, "gout");
  lua_createtable(L, n->nin, 0);
  for (i = 0; i < n->nin; i++) {
    push_or_false(L, s->gin[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "gin");
  lua_createtable(L, n->nin, 0);
  for (i = 0; i < n->nin; i++) {
    lua_pushboolean(L, s->accumulated[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "accumulated");
  lua_createtable(L, n->nin, 0);
  for (i = 0; i < n->nin && i < 3; i++) {
    Tensor *loc = locals && s->gin[i] && n->op->local ? n->op->local(n, i) : NULL;
    push_or_false(L, loc);
    tensor_release(loc);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "locals");
}

/* Frees the steps if a Lua error unwinds through them. */
static int steps_gc(lua_State *L) {
  AgOptions *o = luaL_checkudata(L, 1, "nncalc.AgSteps");
  ag_free_steps(o);
  return 0;
}

/* nncalc._backward(t, grad|nil, retain_graph, record, create_graph) -> steps|nil, n_accumulated
** record = "names": the steps without the local derivatives (for naming
** the recorded gradients, which needs no trace).
** The printing policy (trace, step, warnings) lives in lua/autograd.lua. */
static int l_backward(lua_State *L) {
  Tensor *t = lt_check(L, 1), *g = lua_isnoneornil(L, 2) ? NULL : lt_check(L, 2);
  AgOptions *o;
  int k, rc, locals;
  lua_settop(L, 5);   /* the userdata goes above the arguments */
  locals = lua_type(L, 4) != LUA_TSTRING;
  o = lua_newuserdatauv(L, sizeof *o, 0);
  memset(o, 0, sizeof *o);
  if (luaL_newmetatable(L, "nncalc.AgSteps")) {
    lua_pushcfunction(L, steps_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  o->retain_graph = lua_toboolean(L, 3);
  o->record = lua_toboolean(L, 4);
  o->create_graph = lua_toboolean(L, 5);
  rc = ag_backward(t, g, o);
  if (rc != NN_OK) return lt_error(L, "backward");
  if (o->record) {
    lua_createtable(L, o->nsteps, 0);
    for (k = 0; k < o->nsteps; k++) {
      push_step(L, &o->steps[k], locals);
      lua_rawseti(L, -2, k + 1);
    }
  } else {
    lua_pushnil(L);
  }
  lua_pushinteger(L, o->accumulated_leaves);
  if (o->first_accumulated) lt_push(L, tensor_retain(o->first_accumulated), "backward");
  else lua_pushnil(L);
  ag_free_steps(o);
  return 3;
}

/* Frees grad()'s inputs and results if a Lua error unwinds through them. */
typedef struct GradCall { AgOptions o; Tensor **inputs; int n; } GradCall;

static int gradcall_gc(lua_State *L) {
  GradCall *c = luaL_checkudata(L, 1, "nncalc.GradCall");
  int i;
  for (i = 0; i < c->n; i++) {
    if (c->inputs) tensor_release(c->inputs[i]);
    if (c->o.grads) tensor_release(c->o.grads[i]);
  }
  free(c->inputs);
  free(c->o.grads);
  c->inputs = NULL;
  c->o.grads = NULL;
  c->n = 0;
  return 0;
}

/* nncalc._grad(t, {x1, x2, ...}, grad|nil, create_graph, retain_graph)
** -> {dt/dx1, dt/dx2, ...}, leaving every .grad as it was (as
** torch.autograd.grad).  The argument checks are in lua/autograd.lua. */
static int l_grad(lua_State *L) {
  Tensor *t = lt_check(L, 1), *g;
  GradCall *c;
  int i, n, rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  g = lua_isnoneornil(L, 3) ? NULL : lt_check(L, 3);
  n = (int)luaL_len(L, 2);
  lua_settop(L, 5);   /* the userdata goes above the arguments */
  c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  if (luaL_newmetatable(L, "nncalc.GradCall")) {
    lua_pushcfunction(L, gradcall_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  c->inputs = calloc((size_t)(n > 0 ? n : 1), sizeof *c->inputs);
  c->o.grads = calloc((size_t)(n > 0 ? n : 1), sizeof *c->o.grads);
  if (c->inputs == NULL || c->o.grads == NULL) return luaL_error(L, "grad: out of memory");
  for (i = 0; i < n; i++) {
    lua_geti(L, 2, i + 1);
    c->inputs[i] = tensor_retain(lt_check(L, -1));
    c->n = i + 1;
    lua_pop(L, 1);
  }
  c->o.ninputs = n;
  c->o.inputs = c->inputs;
  c->o.create_graph = lua_toboolean(L, 4);
  c->o.retain_graph = lua_toboolean(L, 5);
  rc = ag_backward(t, g, &c->o);
  if (rc != NN_OK) return lt_error(L, "grad");
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lt_push(L, c->o.grads[i], "grad");   /* takes the reference */
    c->o.grads[i] = NULL;
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* nncalc._graph(t): the nodes t depends on, in forward order. */
static int l_graph(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  Node **nodes;
  int n, k;
  if (ag_collect(t, &nodes, &n) != NN_OK) return lt_error(L, "graph");
  lua_createtable(L, n, 0);
  for (k = 0; k < n; k++) {
    push_node(L, nodes[k]);
    lua_rawseti(L, -2, k + 1);
  }
  for (k = 0; k < n; k++) node_release(nodes[k]);
  free(nodes);
  return 1;
}

/* ======================================================================
** Modes
** ====================================================================== */

/* no_grad(f, ...): runs f with recording off; returns what f returns. */
static int l_no_grad(lua_State *L) {
  int saved = ag_grad_enabled, status;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  ag_grad_enabled = 0;
  status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  ag_grad_enabled = saved;
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

static int l_detect_anomaly(lua_State *L) {
  int old = ag_anomaly;
  if (!lua_isnone(L, 1)) ag_anomaly = lua_toboolean(L, 1);
  lua_pushboolean(L, old);
  return 1;
}

static int l_grad_enabled(lua_State *L) {
  lua_pushboolean(L, ag_grad_enabled);
  return 1;
}

/* Live objects: for tests that a loop of forward+backward frees its graphs. */
static int l_stats(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)tensor_live_count());
  lua_setfield(L, -2, "tensors");
  lua_pushinteger(L, (lua_Integer)storage_live_count());
  lua_setfield(L, -2, "storages");
  lua_pushinteger(L, (lua_Integer)ag_live_nodes());
  lua_setfield(L, -2, "nodes");
  lua_pushinteger(L, (lua_Integer)storage_live_bytes());
  lua_setfield(L, -2, "bytes");
  return 1;
}

/* nncalc._inputs(t): the inputs of the op that computed t (nil for a leaf). */
static int l_inputs(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int i;
  if (t->node == NULL) return 0;
  lua_createtable(L, t->node->nin, 0);
  for (i = 0; i < t->node->nin; i++) {
    lt_push(L, tensor_retain(t->node->in[i]), "inputs");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* nncalc._requires_grad(t): whether t is a leaf marked or a computed tensor
** in a graph (grad() makes leaf copies of the inputs that are neither). */
static int l_requires_grad_p(lua_State *L) {
  lua_pushboolean(L, lt_check(L, 1)->requires_grad);
  return 1;
}

/* Identity of the C tensor behind a userdata (two userdata may share one). */
static int l_id(lua_State *L) {
  lua_pushlightuserdata(L, lt_check(L, 1));
  return 1;
}

static const luaL_Reg methods[] = {
  {"requires_grad", t_requires_grad}, {"name", t_name}, {"retain_grad", t_retain_grad},
  {"detach", t_detach}, {"zero_grad", t_zero_grad}, {"is_leaf", t_is_leaf},
  {"grad_fn", t_grad_fn},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"_backward", l_backward}, {"_grad", l_grad}, {"_requires_grad", l_requires_grad_p},
  {"_inputs", l_inputs}, {"_graph", l_graph}, {"_id", l_id},
  {"_kept_grad", l_kept_grad},
  {"no_grad", l_no_grad}, {"detect_anomaly", l_detect_anomaly},
  {"grad_enabled", l_grad_enabled}, {"stats", l_stats},
  {NULL, NULL}
};

void lt_open_autograd(lua_State *L, int lib, int meth) {
  ag_init();
  lua_pushvalue(L, meth);
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  lua_pushvalue(L, lib);
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
}
