/*
** l_optim.c — the optimizer update kernels from Lua (lua/optim.lua keeps
** the state and the settings):
**   nncalc._sgd(p, g, buf|nil, lr, momentum, dampening, weight_decay,
**               nesterov, lr_inside, first_step)
**   nncalc._adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step
**                [, bias_correction = true, vmax = nil (AMSGrad's buffer)])
**   nncalc._adagrad(p, g, sum, lr, lr_decay, eps, weight_decay, step)
**   nncalc._rmsprop(p, g, sq, buf|nil, gavg|nil, lr, alpha, eps, weight_decay,
**                   momentum, centered)
** Every tensor must be contiguous and hold as many numbers as p.
*/
#include "lua_api.h"
#include "optim.h"

/* The data of the tensor at arg, checked against p's size. */
static double *flat(lua_State *L, int arg, const Tensor *p, const char *fname, int optional) {
  Tensor *t;
  char b1[64], b2[64];
  if (optional && lua_isnoneornil(L, arg)) return NULL;
  t = lt_check(L, arg);
  if (!tensor_is_contiguous(t) || (p != NULL && tensor_numel(t) != tensor_numel(p)))
    luaL_error(L, "%s: state tensor %s does not fit parameter %s (or is not contiguous)",
               fname, tensor_shape_str(t, b1, sizeof b1), tensor_shape_str(p, b2, sizeof b2));
  return t->storage->data + t->offset;
}

static Tensor *param(lua_State *L, const char *fname) {
  Tensor *p = lt_check(L, 1);
  if (!tensor_is_contiguous(p))
    luaL_error(L, "%s: the parameter must be contiguous", fname);
  tensor_bump_version(p);   /* an in-place write, as far as autograd is concerned */
  return p;
}

static int l_sgd(lua_State *L) {
  Tensor *p = param(L, "sgd");
  SgdParams s;
  double *g = flat(L, 2, p, "sgd", 0), *buf = flat(L, 3, p, "sgd", 1);
  s.lr = luaL_checknumber(L, 4);
  s.momentum = luaL_checknumber(L, 5);
  s.dampening = luaL_checknumber(L, 6);
  s.weight_decay = luaL_checknumber(L, 7);
  s.nesterov = lua_toboolean(L, 8);
  s.lr_inside = lua_toboolean(L, 9);
  s.first_step = lua_toboolean(L, 10);
  if (s.momentum != 0.0 && buf == NULL) return luaL_error(L, "sgd: momentum needs a buffer");
  optim_sgd(p->storage->data + p->offset, g, buf, tensor_numel(p), &s);
  return 0;
}

static int l_adam(lua_State *L) {
  Tensor *p = param(L, "adam");
  AdamParams a;
  double *g = flat(L, 2, p, "adam", 0), *m = flat(L, 3, p, "adam", 0), *v = flat(L, 4, p, "adam", 0);
  double *vmax;
  a.lr = luaL_checknumber(L, 5);
  a.beta1 = luaL_checknumber(L, 6);
  a.beta2 = luaL_checknumber(L, 7);
  a.eps = luaL_checknumber(L, 8);
  a.weight_decay = luaL_checknumber(L, 9);
  a.decoupled = lua_toboolean(L, 10);
  a.step = (int64_t)lt_checkinteger(L, 11);
  a.bias_correction = lua_isnoneornil(L, 12) || lua_toboolean(L, 12);
  vmax = lua_isnoneornil(L, 13) ? NULL : flat(L, 13, p, "adam", 0);
  optim_adam(p->storage->data + p->offset, g, m, v, vmax, tensor_numel(p), &a);
  return 0;
}

static int l_adagrad(lua_State *L) {
  Tensor *p = param(L, "adagrad");
  double *g = flat(L, 2, p, "adagrad", 0), *sum = flat(L, 3, p, "adagrad", 0);
  optim_adagrad(p->storage->data + p->offset, g, sum, tensor_numel(p), luaL_checknumber(L, 4),
                luaL_checknumber(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                (int64_t)lt_checkinteger(L, 8));
  return 0;
}

static int l_rmsprop(lua_State *L) {
  Tensor *p = param(L, "rmsprop");
  RmspropParams r;
  double *g = flat(L, 2, p, "rmsprop", 0), *sq = flat(L, 3, p, "rmsprop", 0);
  double *buf = flat(L, 4, p, "rmsprop", 1), *gavg = flat(L, 5, p, "rmsprop", 1);
  r.lr = luaL_checknumber(L, 6);
  r.alpha = luaL_checknumber(L, 7);
  r.eps = luaL_checknumber(L, 8);
  r.weight_decay = luaL_checknumber(L, 9);
  r.momentum = luaL_checknumber(L, 10);
  r.centered = lua_toboolean(L, 11);
  if ((r.momentum > 0 && buf == NULL) || (r.centered && gavg == NULL))
    return luaL_error(L, "rmsprop: missing state tensor");
  optim_rmsprop(p->storage->data + p->offset, g, sq, buf, gavg, tensor_numel(p), &r);
  return 0;
}

static const luaL_Reg functions[] = {
  {"_sgd", l_sgd}, {"_adam", l_adam}, {"_adagrad", l_adagrad}, {"_rmsprop", l_rmsprop},
  {NULL, NULL}
};

void lt_open_optim(lua_State *L, int lib) {
  lua_pushvalue(L, lib);
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
}
