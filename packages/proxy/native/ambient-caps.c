/*
 * clearAmbientCapabilities(): empties the ambient and inheritable capability sets of the calling
 * thread, so that a program it executes starts without capabilities, while the thread keeps its
 * permitted and effective ones. Node has no prctl() or capset(), hence this Node-API addon
 * (ABI-stable, like quick-ack.c).
 *
 * Why: the packaged unit gives the daemon CAP_NET_BIND_SERVICE and CAP_SETGID as ambient
 * capabilities, and a non-root process passes its ambient set on through execve. The supervisor
 * calls this once at start, on its main thread (the one that forks), so its children (the
 * orchestrator, the proxy workers) start with no capability in any thread, while the supervisor
 * itself can still open ports below 1024 for the workers and drop the workers' groups (see
 * packages/cli/src/supervisor/privileges.ts and docs/operations.md, Privileges).
 * The inheritable set goes too: an ambient capability must be in it, and a child would keep it
 * as its own inheritable set.
 *
 * Returns 0, or the errno of the step that failed. A kernel before 4.3 has no ambient set
 * (EINVAL): nothing to clear there.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int clear_ambient(void) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  int any = 0;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
    any |= data[i].inheritable != 0;
    data[i].inheritable = 0;
  }
  if (any && syscall(SYS_capset, &header, data) != 0) return errno;
  return 0;
}

static napi_value clear_ambient_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, clear_ambient(), &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "clearAmbientCapabilities", NAPI_AUTO_LENGTH, clear_ambient_js, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "clearAmbientCapabilities", fn) != napi_ok) return NULL;
  return exports;
}
