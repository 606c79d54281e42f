/*
 * dropPrivileges(keep): a proxy worker gives up what it inherited from the daemon and does not
 * need. Node has process.setgroups() but no capset() or prctl(), hence this Node-API addon
 * (ABI-stable, like quick-ack.c).
 *
 * Why: the daemon runs with the `docker` group (root-equivalent) and, through systemd's ambient
 * set, CAP_NET_BIND_SERVICE and CAP_SETGID. Workers face the internet and need none of that (under
 * node:cluster the supervisor opens their listening sockets). See privileges.ts and the README,
 * Reverse proxy / Privileges.
 *
 * Steps, in this order:
 *   1. setgroups(0, NULL) if there are supplementary groups. It needs CAP_SETGID, so it comes
 *      before the capabilities go. glibc's wrapper applies it to every thread of the process.
 *   2. In every thread: PR_SET_NO_NEW_PRIVS (an execve can never gain privileges again, not even
 *      as root through a setuid binary or the root execve rule), PR_CAP_AMBIENT_CLEAR_ALL, and
 *      capset() to: inheritable empty, permitted = effective = `keep` & what the thread had.
 *      Capabilities are per thread in Linux and Node runs helper threads (V8 platform, libuv
 *      pool, ...) that would otherwise keep CAP_SETGID and could put the group back. The calling
 *      thread does it directly; each other thread is sent PRIVS_SIGNAL and does it in the handler.
 *      A thread that blocks every signal (Node's SIGUSR1 watcher does) cannot be reached: it is
 *      counted in `unreached`, not waited for.
 *
 * Returns { threads, unreached, error? } where error names the failed step and errno; the caller
 * reads /proc/self/status to report what is left.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Not one glibc reserves (32, 33) nor one Node or libuv use; the handler stays installed for good
 * (a signal still pending in a thread that unblocks it later must not hit SIG_DFL, which kills). */
#define PRIVS_SIGNAL (SIGRTMIN + 5)
#define MAX_THREADS 1024

static struct __user_cap_data_struct wanted[_LINUX_CAPABILITY_U32S_3];
static atomic_int replies;
static atomic_int thread_failures;

/* Lowers the calling thread's privileges to `wanted`. Async-signal-safe (raw system calls). */
static int drop_in_this_thread(void) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  /* EINVAL: a kernel before 4.3 has no ambient set, so there is nothing to clear */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  if (syscall(SYS_capget, &header, data) != 0) return -1;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
    data[i].permitted &= wanted[i].permitted;
    data[i].effective = data[i].permitted;
    data[i].inheritable = 0;
  }
  return syscall(SYS_capset, &header, data) == 0 ? 0 : -1;
}

static void on_privs_signal(int sig) {
  (void)sig;
  int saved = errno;
  if (drop_in_this_thread() != 0) atomic_fetch_add(&thread_failures, 1);
  atomic_fetch_add(&replies, 1);
  errno = saved;
}

/* True when /proc says thread `tid` blocks PRIVS_SIGNAL (it would never run the handler). */
static int blocks_signal(pid_t tid) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  int blocked = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long mask;
    if (sscanf(line, "SigBlk: %llx", &mask) == 1) {
      blocked = (mask >> (PRIVS_SIGNAL - 1)) & 1;
      break;
    }
  }
  fclose(f);
  return blocked;
}

static int seen(const pid_t *tids, int n, pid_t tid) {
  for (int i = 0; i < n; i++) if (tids[i] == tid) return 1;
  return 0;
}

/* Sends PRIVS_SIGNAL to every thread not handled yet and waits up to a second for their replies.
 * Rescans: a thread started meanwhile by one not yet lowered would have inherited the old set. */
static void drop_in_other_threads(int *threads, int *unreached) {
  static pid_t handled[MAX_THREADS];
  int n = 0, sent = 0;
  pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
  handled[n++] = self;
  for (int round = 0; round < 5; round++) {
    int fresh = 0;
    DIR *dir = opendir("/proc/self/task");
    if (!dir) break;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < MAX_THREADS) {
      pid_t tid = (pid_t)atoi(entry->d_name);
      if (tid <= 0 || seen(handled, n, tid)) continue;
      handled[n++] = tid;
      fresh++;
      if (blocks_signal(tid)) (*unreached)++;
      else if (syscall(SYS_tgkill, pid, tid, PRIVS_SIGNAL) == 0) sent++;
      /* else: the thread exited in between */
    }
    closedir(dir);
    if (!fresh) break;
    struct timespec tick = {0, 1000000};
    for (int waited = 0; atomic_load(&replies) < sent && waited < 1000; waited++) nanosleep(&tick, NULL);
  }
  *threads = n;
  *unreached += sent - atomic_load(&replies);
}

static napi_value set_number(napi_env env, napi_value obj, const char *key, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

static napi_value drop_privileges_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  /* keep: a bit mask of capability numbers 0..52 (a JS number holds 53 bits exactly) */
  double keep_mask = 0;
  if (argc >= 1) napi_get_value_double(env, argv[0], &keep_mask);
  uint64_t keep = (uint64_t)keep_mask;
  wanted[0].permitted = (uint32_t)keep;
  wanted[1].permitted = (uint32_t)(keep >> 32);
  napi_create_object(env, &result);

  char error[128] = "";
  int count = getgroups(0, NULL);
  if (count > 0 && setgroups(0, NULL) != 0) snprintf(error, sizeof error, "setgroups: %s", strerror(errno));

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_privs_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  int threads = 1, unreached = 0;
  if (sigaction(PRIVS_SIGNAL, &action, NULL) != 0) {
    if (!error[0]) snprintf(error, sizeof error, "sigaction: %s", strerror(errno));
  } else {
    drop_in_other_threads(&threads, &unreached);
  }
  if (drop_in_this_thread() != 0 && !error[0]) snprintf(error, sizeof error, "capset: %s", strerror(errno));
  if (atomic_load(&thread_failures) > 0 && !error[0]) snprintf(error, sizeof error, "capset failed in %d other thread(s)", atomic_load(&thread_failures));

  set_number(env, result, "threads", threads);
  set_number(env, result, "unreached", unreached);
  if (error[0]) {
    napi_value message;
    napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &message);
    napi_set_named_property(env, result, "error", message);
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dropPrivileges", NAPI_AUTO_LENGTH, drop_privileges_js, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dropPrivileges", fn) != napi_ok) return NULL;
  return exports;
}
