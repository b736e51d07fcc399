/*
** tensor_init.c — tensors made from nothing: full, eye, arange, linspace,
** and the seeded random generator behind rand and randn.
*/
#include <math.h>
#include <string.h>

#include "ops.h"

/* ======================================================================
** Random numbers: xoshiro256** (Blackman & Vigna), seeded by splitmix64.
** Integer-only state updates, so a seed gives the same stream everywhere.
** ====================================================================== */

#define TWO_PI 6.283185307179586476925286766559

static uint64_t rng_state[4];
static int have_spare;
static double spare;
static int seeded;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rng_seed(uint64_t seed) {
  int i;
  for (i = 0; i < 4; i++) rng_state[i] = splitmix64(&seed);
  have_spare = 0;
  seeded = 1;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void) {
  uint64_t *s = rng_state, result, t;
  if (!seeded) rng_seed(0);
  result = rotl(s[1] * 5, 7) * 9;
  t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* A whole number for seeding a module's own stream (53 bits, so Lua
** holds it exactly). */
uint64_t rng_draw_seed(void) { return rng_next() >> 11; }

void rng_save(RngState *st) {
  memcpy(st->s, rng_state, sizeof rng_state);
  st->have_spare = have_spare;
  st->spare = spare;
  st->seeded = seeded;
}

void rng_restore(const RngState *st) {
  memcpy(rng_state, st->s, sizeof rng_state);
  have_spare = st->have_spare;
  spare = st->spare;
  seeded = st->seeded;
}

double rng_uniform(void) {
  return (double)(rng_next() >> 11) * 0x1.0p-53;
}

/* Box-Muller, keeping the second value of each pair for the next call. */
double rng_normal(void) {
  double u, v, r;
  if (have_spare) {
    have_spare = 0;
    return spare;
  }
  do u = rng_uniform(); while (u <= 0.0);   /* log(0) would be -inf */
  v = rng_uniform();
  r = sqrt(-2.0 * log(u));
  spare = r * sin(TWO_PI * v);
  have_spare = 1;
  return r * cos(TWO_PI * v);
}

/* ======================================================================
** Constructors
** ====================================================================== */

Tensor *op_full(int ndim, const int64_t *size, double v) {
  Tensor *t = tensor_new(ndim, size);
  int64_t i, n;
  if (t == NULL) return NULL;
  n = tensor_numel(t);
  for (i = 0; i < n; i++) t->storage->data[i] = v;
  return t;
}

Tensor *op_eye(int64_t n, int64_t m) {
  int64_t size[2] = {n, m}, i;
  Tensor *t = tensor_zeros(2, size);
  if (t == NULL) return NULL;
  for (i = 0; i < n && i < m; i++) t->storage->data[i * m + i] = 1.0;
  return t;
}

Tensor *op_arange(double start, double stop, double step) {
  double count;
  int64_t n, i;
  Tensor *t;
  if (!isfinite(start) || !isfinite(stop) || !isfinite(step))
    return nn_fail(NN_EARG, "start, stop and step must be finite numbers"), NULL;
  if (step == 0) return nn_fail(NN_EARG, "step must not be 0"), NULL;
  /* a small tolerance keeps arange(0, 1, 0.1) from losing its last
  ** element to rounding (0.1 * 10 is not exactly 1) */
  count = floor((stop - start) / step + 1e-9) + 1;
  if (count < 0) count = 0;
  if (count > (double)nn_max_elements())
    /* every digit while they are few, else 1e+300 rather than 301 digits */
    return nn_fail(NN_ELIMIT, count < 1e15 ? "%.0f elements is over the limit of %lld "
                   "(see limits{max_elements=N})" : "%.4g elements is over the limit of %lld "
                   "(see limits{max_elements=N})", count,
                   (long long)nn_max_elements()), NULL;
  n = (int64_t)count;
  if ((t = tensor_new(1, &n)) == NULL) return NULL;
  for (i = 0; i < n; i++) {
    double v = start + (double)i * step;
    /* the tolerance above may admit a last value a rounding error past
    ** stop (0 + 3 * 0.1 = 0.30000000000000004): that value is stop */
    if ((step > 0 && v > stop) || (step < 0 && v < stop)) v = stop;
    t->storage->data[i] = v;
  }
  return t;
}

Tensor *op_linspace(double a, double b, int64_t n) {
  Tensor *t;
  int64_t i;
  if (!isfinite(a) || !isfinite(b))
    return nn_fail(NN_EARG, "end points must be finite numbers"), NULL;
  if (n < 0) return nn_fail(NN_EARG, "negative number of points %lld", (long long)n), NULL;
  if ((t = tensor_new(1, &n)) == NULL) return NULL;
  for (i = 0; i < n; i++)
    /* computed from both ends, so the last point is exactly b */
    t->storage->data[i] = n == 1 ? a : a + (b - a) * (double)i / (double)(n - 1);
  if (n > 1) t->storage->data[n - 1] = b;
  return t;
}

static Tensor *random_tensor(int ndim, const int64_t *size, double (*gen)(void)) {
  Tensor *t = tensor_new(ndim, size);
  int64_t i, n;
  if (t == NULL) return NULL;
  n = tensor_numel(t);
  for (i = 0; i < n; i++) t->storage->data[i] = gen();
  return t;
}

Tensor *op_rand(int ndim, const int64_t *size) {
  return random_tensor(ndim, size, rng_uniform);
}

Tensor *op_randn(int ndim, const int64_t *size) {
  return random_tensor(ndim, size, rng_normal);
}
