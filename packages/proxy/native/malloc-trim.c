/*
 * mallocTrim(): hand the free pages of every malloc arena back to the kernel (glibc's
 * malloc_trim(0)). Node exposes no such call, hence this Node-API addon (ABI-stable, like
 * quick-ack.c).
 *
 * Why the proxy needs it: glibc returns freed memory to the kernel by itself only from the top
 * of an arena. Pages freed below the top stay resident: under the HTTP/2 benchmark on Node 24 a worker kept 13 MB
 * in the arena of V8's helper thread (compiler and GC scratch memory, long freed) on top of its
 * main heap. malloc_trim(0) also releases free pages in the middle of each arena, which nothing
 * else does. Called about once a second while there is traffic (src/tuning/malloc-trimmer.ts); see the
 * docs/internals/proxy-performance.md, Freed memory.
 *
 * Another libc has no malloc_trim: the addon then exports nothing and the worker does without.
 */
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>

static napi_value malloc_trim_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, malloc_trim(0) != 0, &result);
  return result;
}
#endif

NAPI_MODULE_INIT() {
#ifdef __GLIBC__
  napi_value fn;
  if (napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, malloc_trim_js, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mallocTrim", fn) != napi_ok) return NULL;
#endif
  return exports;
}
